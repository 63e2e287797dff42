"""A real browser for the admin tests: Playwright driving Debian's headless chromium.

Chromium is installed by the test setup (``make test``), never downloaded by
Playwright. When it cannot start, the tests fail: a browser test that skips
proves nothing.
"""

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling hosts this
# closed network refuses (shared NOTES, "Browser tests").
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "operator-password-1"


@pytest.fixture(scope="module")
def browser():
    """Chromium, for the tests of one module.

    Playwright's sync API keeps an event loop registered as running in this
    thread while it is active, and Django then refuses ORM calls from it
    (``SynchronousOnlyOperation``), although the test code is synchronous and
    the live server answers from its own thread. Playwright's documentation
    for Django says to set ``DJANGO_ALLOW_ASYNC_UNSAFE``; it is set only while
    the browser is open, so no other test runs with it.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def staff_page(page, live_server, django_user_model):
    """A page logged in to the admin, through its login form, as a staff operator."""
    django_user_model.objects.create_superuser("ops@example.com", "ops@example.com", PASSWORD)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "ops@example.com")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    return page
