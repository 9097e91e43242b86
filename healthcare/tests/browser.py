"""Debian's chromium driven by Playwright, for the browser tests (marked `browser`).

`launched_chromium()` skips when chromium or playwright is missing, except under CI=true,
where that fails the test (.ci/run installs chromium; requirements-dev.txt has playwright).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from .skips import skip_or_fail

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
    """The chromium executable (env CHROMIUM_PATH, else `chromium` on PATH), and playwright."""
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not path:
        skip_or_fail("Debian's chromium is not installed (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        skip_or_fail("the playwright package is not installed (requirements-dev.txt)")
    return path


@contextmanager
def launched_chromium() -> Iterator:
    """A headless chromium browser (Playwright's sync API), closed afterwards."""
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
