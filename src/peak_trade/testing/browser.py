"""A real headless browser for the dashboard's page tests: Debian's chromium and its driver."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["CHROMEDRIVER", "CHROMIUM", "headless_chromium", "page_wait"]

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# as root and offline: no sandbox, and none of the background calls a closed network refuses
_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1800",
)


def headless_chromium() -> Any:
    """Return a selenium driver of headless Chromium; an AssertionError saying how to get it
    when it is not installed (`make test` installs it)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        raise AssertionError(
            "the page is tested in Debian's chromium and chromium-driver: `make test` installs "
            "them (apt-get install chromium chromium-driver)"
        )
    options = Options()
    options.binary_location = CHROMIUM
    for flag in _FLAGS:
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


def page_wait(browser: Any, seconds: float) -> Any:
    """Return a wait on the page that looks again when an element it found was replaced
    meanwhile: the page redraws its tables at every poll, so a row read a moment after it was
    found may be a new one."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, seconds, ignored_exceptions=(StaleElementReferenceException,))
