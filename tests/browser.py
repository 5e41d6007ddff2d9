"""Pages a user looks at, opened in headless Chromium (Debian's, installed by `make browser`,
driven by Playwright; no browser download): the stack's UIs, the month report, the drift report,
serving's /docs. A capture returns the page's visible text so the test can check what it shows."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

# Chromium as root in a container-less CI: no sandbox; no background traffic to Google's hosts
# (the network is closed: those connections would be refused at every start).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("google-chrome")
    if path is None:
        pytest.skip("Debian's chromium is not installed (make test installs it: make browser)")
    return path


@contextmanager
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()


def capture(chromium, url: str, target: Path, wait_for_text: str, cookies: list[dict] | None = None) -> str:
    """Open ``url`` at 1440×900, wait until ``wait_for_text`` is visible, save a PNG, return the text."""
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    try:
        if cookies:
            context.add_cookies(cookies)
        page = context.new_page()
        # "load", not "networkidle": MLflow's UI keeps polling its API, so the network may never
        # be idle; the visible text below is what the capture waits for
        page.goto(url, wait_until="load", timeout=60_000)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            page.get_by_text(wait_for_text, exact=False).first.wait_for(state="visible", timeout=60_000)
            page.wait_for_timeout(1_500)  # charts and lazy tables settle
        finally:  # what the page showed, also when the text never came
            page.screenshot(path=str(target), full_page=False)
        return page.inner_text("body")
    finally:
        context.close()
