"""Fixtures of the browser tests, and the end of what they start."""

import pytest
from browser_support import chromium, close_chromium, require_chromium
from live_lab import LiveLab, close_session_lab, session_lab


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium, driven by Playwright; skipped where it is missing, except in CI."""
    require_chromium()
    return chromium()


@pytest.fixture(scope="session")
def lab(request, browser) -> LiveLab:
    """The session's JupyterLab in a Chromium tab (tests/live_lab.py): started once, shared by every test."""
    return session_lab(request.config)


def pytest_sessionfinish(session):
    close_session_lab(session.config)
    close_chromium()
