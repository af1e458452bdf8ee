"""Headless Debian Chromium for tests that look at the report as a person would.

Skips when the browser is missing, unless ZTBUNDLE_REQUIRE_BROWSER=1 (set by .ci/run), where a
missing browser is a failure: the report's browser checks must never pass by not running.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# Without the background-networking flags Chromium reaches for Google's hosts at every start.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,2400",
)


def unavailable(reason: str) -> None:
    if os.environ.get("ZTBUNDLE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"ZTBUNDLE_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@contextmanager
def chromium(*, before_load: str | None = None) -> Iterator[Any]:
    """A selenium Chrome driver on a fresh profile; `before_load` runs ahead of every page script."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("selenium is not installed (pip install -e '.[test]')")
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not binary.exists():
            unavailable(f"{binary} is missing (apt-get install chromium chromium-driver)")
    profile = tempfile.mkdtemp(prefix="ztbundle-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    if before_load:
        browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": before_load})
    try:
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


def requests_made_by(driver: Any, page: Path) -> list[str]:
    """URLs the page's own document requested since the log was last read.

    Chromium's internal pages (a cold profile's new-tab page loading chrome://resources) are not
    the report's doing and are left out.
    """
    params = [
        json.loads(e["message"])["message"]["params"]
        for e in driver.get_log("performance")
        if '"Network.requestWillBeSent"' in e["message"]
    ]
    return [p["request"]["url"] for p in params if p.get("documentURL") == page.as_uri()]
