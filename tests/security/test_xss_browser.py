"""Hostile cluster text goes collect → analyze → headless Chromium: shown literally, nothing runs.

The fake cluster's `hostile` scenario (tests.fakecluster.hostile) carries `<script>`, attribute
breakers, `javascript:` URLs and a bidi override in labels, annotations, log lines, certificate
subjects and workload names. Only some of those places reach the report, so this test adds
stale workloads whose names carry the attribute breaker and the URL too: they become finding
subjects and messages. Before the page loads, a DevTools hook replaces alert/confirm/prompt and
records any call, so "nothing executes" is observed, not inferred from silence.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium, requests_made_by
from tests.fakecluster.hostile import ATTR_BREAK, BIDI, JS_URL, SCRIPT
from ztbundle.cli import main
from ztbundle.exits import Exit

pytestmark = pytest.mark.browser

# Runs before any page script: a call to these is exactly what an injection would do.
TRAP = """
window.__xss = [];
for (const name of ['alert', 'confirm', 'prompt', 'print', 'open']) {
  window[name] = (...args) => { window.__xss.push(name + '(' + args.join(',') + ')'); };
}
"""
EXTRA_NAMES = (f"a{ATTR_BREAK}-x1", f"{JS_URL}-x2")


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    with chromium(before_load=TRAP) as browser:
        yield browser


def _scenario() -> Any:
    """`scenarios.hostile()` plus stale workloads named with the attribute breaker and the URL."""
    from tests.fakecluster import scenarios
    from tests.fakecluster.scenario import Role, StaleWorkload

    scn = scenarios.hostile()
    node = next(p.node for p in scn.pods if p.role is Role.ZTUNNEL and p.node)
    zo = scn.ztunnel_override(node)
    stale = tuple(
        StaleWorkload("default", name, f"10.244.0.{90 + i}", node, "notes")
        for i, name in enumerate(EXTRA_NAMES)
    )
    drift = replace(zo.drift, extra_workloads=zo.drift.extra_workloads + stale)
    return scn.with_overrides(ztunnels={node: replace(zo, drift=drift)})


@dataclass(frozen=True, slots=True)
class Reports:
    html: Path
    json: dict[str, Any]


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Reports:
    from tests.fakecluster import FakeCluster

    tmp = tmp_path_factory.mktemp("xss")
    bundle = tmp / "hostile.tar.gz"
    with FakeCluster(_scenario()) as fc:
        rc = main(fc.collect_argv(bundle))
    assert rc in (Exit.OK, Exit.INCOMPLETE)
    html, js = tmp / "report.html", tmp / "report.json"
    assert main(["analyze", str(bundle), "--out-file", str(html), "--fail-on", "never"]) == Exit.OK
    assert (
        main(["analyze", str(bundle), "-o", "json", "--out-file", str(js), "--fail-on", "never"]) == Exit.OK
    )
    return Reports(html, json.loads(js.read_text(encoding="utf-8")))


def _shown(text: str) -> str:
    return text.replace(BIDI, "\\u202e")  # the report shows the override as a visible escape


def test_hostile_text_is_shown_literally_and_nothing_runs(driver: Any, reports: Reports) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    driver.get_log("browser")
    driver.get_log("performance")
    driver.get(reports.html.as_uri())
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert  # noqa: B018 - the property raises when no dialog is open
    assert driver.execute_script("return window.__xss") == []

    findings = driver.find_element("id", "findings").text
    messages = " ".join(f"{f['subject']} {f['message']}" for f in reports.json["findings"])
    for hostile in (SCRIPT, ATTR_BREAK, JS_URL):
        assert hostile in messages, f"the scenario no longer carries {hostile!r} into a finding"
        assert hostile in findings, f"{hostile!r} is not shown literally"
    assert "\\u202e" in findings and BIDI not in driver.find_element("tag name", "body").text

    # Nothing was turned into markup: one script (ours), no images, no javascript: links.
    assert driver.execute_script("return document.scripts.length") == 1
    assert driver.execute_script("return document.images.length") == 0
    links = driver.execute_script("return [...document.links].map(a => a.getAttribute('href'))")
    assert all(href.startswith("#") for href in links), links
    handlers = driver.execute_script(
        "return [...document.querySelectorAll('*')].flatMap(e => [...e.attributes])"
        ".map(a => a.name).filter(n => n.startsWith('on'))"
    )
    assert handlers == []

    console = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert console == []  # a CSP-blocked inline script or load would be reported here
    requests = requests_made_by(driver, reports.html)
    assert requests == [reports.html.as_uri()]


def test_every_finding_is_on_the_page_as_text(driver: Any, reports: Reports) -> None:
    driver.get(reports.html.as_uri())
    rows = [r.text for r in driver.find_elements("css selector", "tr[data-finding] td.message")]
    for f in reports.json["findings"]:  # shown without the subject it opens with (its own column)
        s = f["subject"]
        ref = f"{s['kind']} {s['namespace']}/{s['name']}" if s["namespace"] else f"{s['kind']} {s['name']}"
        detail = f["message"].removeprefix(ref).lstrip(" :") if f["message"] != ref else f["message"]
        assert any(_shown(detail) in r for r in rows), f["message"]
