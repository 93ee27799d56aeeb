"""Headless Debian Chromium through Playwright, collecting every console error, page error and
failed request, for the browser tests."""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rai_pipeline.settings import PROJECT_ROOT

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def browser_page(*, width: int, height: int) -> Iterator[tuple[Any, list[str]]]:
    """A page in headless Chromium and the list its errors are appended to."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    assert chromium, "chromium is installed by `make test` (scripts/ensure_chromium.sh)"
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
            yield page, errors
        finally:
            browser.close()
