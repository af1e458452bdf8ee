"""The report in headless Chromium: what is VISIBLE, the filters, no console errors, no requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analyzer.report import html
from tests.browser import chromium, requests_made_by
from tests.report.conftest import HOSTILE, Case
from ztbundle.cli import main
from ztbundle.exits import Exit

pytestmark = pytest.mark.browser

OUT = Path(__file__).parent / "out"


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def report(collected_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report `ztbundle analyze` writes for a bundle from the real collector."""
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert main(["analyze", str(collected_bundle), "--out-file", str(out)]) == Exit.FINDINGS
    return out


@pytest.fixture(scope="module")
def expected(collected_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same analysis as JSON: the ground truth for what the page must show."""
    out = tmp_path_factory.mktemp("json") / "report.json"
    main(["analyze", str(collected_bundle), "-o", "json", "--out-file", str(out)])
    doc: dict[str, Any] = json.loads(out.read_text())
    return doc


def _open(driver: Any, path: Path) -> None:
    driver.get_log("browser")  # drain what earlier pages logged
    driver.get_log("performance")
    driver.get(path.as_uri())


def _shown(driver: Any, css: str) -> list[Any]:
    return [e for e in driver.find_elements("css selector", css) if e.is_displayed()]


def test_report_shows_findings_and_grid_without_errors_or_requests(
    driver: Any, report: Path, expected: dict[str, Any]
) -> None:
    _open(driver, report)
    findings = expected["findings"]
    assert findings and expected["summary"]["warning"] >= 1
    rows = _shown(driver, "tr[data-finding]")
    assert len(rows) == len(findings)
    visible = driver.find_element("id", "findings").text
    for f in findings:  # the subject has its own column; the message is shown without repeating it
        s = f["subject"]
        ref = f"{s['kind']} {s['namespace']}/{s['name']}" if s["namespace"] else f"{s['kind']} {s['name']}"
        assert ref in visible
        assert f["message"].removeprefix(ref).lstrip(" :") in visible
    header = driver.find_element("id", "verdict").text
    assert f"{expected['summary']['error']} errors" in header
    cell = driver.find_element("css selector", 'td[data-node="ambient-worker4"][data-column="ztunnel ready"]')
    assert cell.is_displayed() and cell.text == "none" and "bad" in cell.get_attribute("class")
    assert len(_shown(driver, "table.grid td.cell")) == 5 * 4
    OUT.mkdir(exist_ok=True)
    assert driver.save_screenshot(str(OUT / "report.png"))
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []  # a CSP violation (blocked script or load) would be logged here
    requests = requests_made_by(driver, report)
    assert requests == [report.as_uri()], requests


def test_severity_filter_hides_warnings(driver: Any, report: Path, expected: dict[str, Any]) -> None:
    _open(driver, report)
    counts = expected["summary"]
    driver.find_element("css selector", 'input[data-severity-filter][value="warning"]').click()
    shown = _shown(driver, "tr[data-finding]")
    assert len(shown) == counts["error"] + counts["info"]
    assert not _shown(driver, 'tr[data-finding][data-severity="warning"]')
    assert not _shown(driver, '[data-severity-block="warning"]')
    assert driver.find_element("id", "shown").text == f"{len(shown)} of {len(expected['findings'])} shown"
    driver.find_element("css selector", 'input[data-severity-filter][value="warning"]').click()
    assert len(_shown(driver, "tr[data-finding]")) == len(expected["findings"])


def test_search_box_filters_findings(driver: Any, report: Path, expected: dict[str, Any]) -> None:
    _open(driver, report)
    box = driver.find_element("id", "search")
    box.send_keys("productpage")
    shown = _shown(driver, "tr[data-finding]")
    want = [f for f in expected["findings"] if "productpage" in json.dumps(f).lower()]
    assert shown and len(shown) == len(want) < len(expected["findings"])
    assert all("productpage" in r.text.lower() for r in shown)
    box.send_keys("zzz-no-such-thing")
    assert not _shown(driver, "tr[data-finding]") and _shown(driver, "#none-match")
    box.clear()
    box.send_keys(" ")  # clear() fires no input event
    assert len(_shown(driver, "tr[data-finding]")) == len(expected["findings"])


def test_rule_link_jumps_to_its_documentation(driver: Any, report: Path, expected: dict[str, Any]) -> None:
    _open(driver, report)
    code = expected["findings"][0]["code"]
    driver.find_element("css selector", f'[data-rule-group="{code}"] h4 a[href="#{code}"]').click()
    assert driver.current_url.endswith(f"#{code}")
    doc = driver.find_element("id", code)
    assert doc.is_displayed() and "\nFIX\n" in doc.text.upper()


def test_hostile_name_is_shown_as_text_not_run(driver: Any, hostile: Case, tmp_path: Path) -> None:
    page = tmp_path / "hostile.html"
    page.write_text(html.render(hostile.result), encoding="utf-8")
    _open(driver, page)  # an executed alert() would make every later call raise
    assert HOSTILE in driver.find_element("id", "findings").text
    assert driver.execute_script("return document.scripts.length") == 1


@pytest.mark.parametrize("width", [800, 1400])
def test_diagnosis_is_in_the_first_screen_without_horizontal_scrolling(
    driver: Any, report: Path, expected: dict[str, Any], width: int
) -> None:
    driver.set_window_size(width, 900)
    try:
        _open(driver, report)
        inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
        assert inner[0] == width
        # Every <details> open: a long evidence list or ztunnel table must wrap, not widen the page.
        driver.execute_script("document.querySelectorAll('details').forEach(function (d) { d.open = true; })")
        assert driver.execute_script("return document.documentElement.scrollWidth") <= inner[0]
        driver.execute_script(
            "document.querySelectorAll('details').forEach(function (d) { d.open = false; })"
        )
        driver.execute_script("window.scrollTo(0, 0)")
        first = expected["incidents"][0]
        for element in (
            driver.find_element("id", "verdict"),
            driver.find_element("css selector", "details.incident"),
        ):
            top, bottom = driver.execute_script(
                "var r = arguments[0].getBoundingClientRect(); return [r.top, r.bottom];", element
            )
            assert element.is_displayed() and top >= 0 and bottom <= inner[1], (element.text, top, bottom)
        incident = driver.find_element("css selector", "details.incident")
        assert first["headline"] in incident.text and incident.get_attribute("id") == first["id"]
        OUT.mkdir(exist_ok=True)
        assert driver.save_screenshot(str(OUT / f"first-screen-{width}.png"))
    finally:
        driver.set_window_size(1400, 2400)  # as tests/browser.py starts it, for the tests after this one


def test_expected_istiod_answers_are_not_shown_as_errors(
    driver: Any, report: Path, expected: dict[str, Any]
) -> None:
    _open(driver, report)
    rows = driver.find_elements("css selector", 'tr[data-collection-error][data-expected="true"]')
    assert len(rows) == sum(e["expected"] for e in expected["collection_errors"]) > 0
    for row in rows:
        assert "Proxy not connected to this Pilot instance" in row.get_attribute("textContent")
        tag = row.find_element("css selector", ".tag")
        assert (
            "bad" not in tag.get_attribute("class").split() and tag.get_attribute("textContent") == "expected"
        )
