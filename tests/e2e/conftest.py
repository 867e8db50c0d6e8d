"""End-to-end fixtures: the system Chromium (never a downloaded browser) and the process stack.

The e2e tests run in the default test run. Without Chromium they are skipped with the reason,
except in CI (``CI`` set), where a missing browser fails them: ``.ci/run`` installs Debian's
``chromium`` first.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ._stack import Stack, running_stack

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

#: Screenshots of every dashboard page land here (git-ignored).
SCREENSHOTS = Path(__file__).parent / "screenshots"


def chromium_path() -> str | None:
    configured = os.environ.get("SALLAKIT_TEST_CHROMIUM")
    if configured:
        return configured
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.path.exists(candidate):
            return candidate
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module. Not session-wide: Playwright's sync API keeps an asyncio
    loop running in this thread while it is open, and every later test that starts its own
    loop (anyio, asyncio.run) would fail with "cannot be called from a running event loop"."""
    path = chromium_path()
    if path is None:
        message = "no system Chromium (apt-get install chromium); set SALLAKIT_TEST_CHROMIUM"
        if os.environ.get("CI"):
            pytest.fail(message + " - CI must install it (.ci/run)")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # app.installed becomes a dead letter (a handler that always fails, one attempt allowed).
    failing = {
        "SALLAKIT_WEBHOOK_HANDLERS": "failing_handlers:handlers",
        "SALLAKIT_WEBHOOK_MAX_ATTEMPTS": "1",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(Path(__file__).parent), os.environ.get("PYTHONPATH")) if p
        ),
    }
    with running_stack(tmp_path_factory.mktemp("stack"), extra_env=failing) as running:
        running.install()
        yield running


@pytest.fixture
def shot() -> Any:
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(page: Any, name: str) -> Path:
        target = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(target), full_page=True)
        return target

    return take
