"""Real-browser tests: Playwright drives Debian's Chromium (/usr/bin/chromium, installed by bin/setup) against
the live test server. Screenshots go to test-artifacts/screenshots/ (WUFEI_SCREENSHOTS to change)."""

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.manifests.conftest import chain  # noqa: F401 (the transfer chain the loop runs through)

# Playwright's sync API keeps an event loop in the test thread; the ORM calls the tests make between browser
# steps are plain synchronous calls and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("WUFEI_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(os.environ.get("WUFEI_SCREENSHOTS", Path(__file__).resolve().parents[2] / "test-artifacts"
                                  / "screenshots"))
# On CI (.ci/run sets WUFEI_REQUIRE_BROWSER) a missing browser fails the run; elsewhere these tests skip, saying why.
BROWSER_REQUIRED = bool(os.environ.get("WUFEI_REQUIRE_BROWSER") or os.environ.get("CI"))
PASSWORD = "wufei-test-pw"  # tests/conftest.py make_user's default
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
# Without the background-networking switches Chromium keeps calling Google's hosts, which this network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def wait_until(page, expression: str, *, seconds: float = 15) -> None:
    """Poll a JavaScript expression (or `() => …` function) until it is true. Playwright's wait_for_function runs
    its predicate through eval inside the page, which the site's Content-Security-Policy (script-src 'self')
    refuses; page.evaluate goes through the browser's protocol, which the policy does not cover."""
    import time

    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {seconds} s: {expression}"
        page.wait_for_timeout(50)


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        reason = f"Chromium not found at {CHROMIUM}: run bin/setup (it installs Debian's chromium package)"
        if BROWSER_REQUIRED:
            pytest.fail(reason)  # CI never skips the browser tests
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class User:
    """One person at one browser: their own context (cookies), a page, and a screenshot trail."""

    def __init__(self, browser, base_url: str, name: str, test_name: str, **context_options):
        self.base_url, self.name, self.test_name = base_url, name, test_name
        self.context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **context_options)
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()
        self.shots = 0
        self.console_errors: list[str] = []
        self.page.on("console", lambda message: message.type == "error" and self.console_errors.append(message.text))
        self.page.on("pageerror", lambda error: self.console_errors.append(str(error)))
        self.page.on("response", lambda response: response.status >= 400 and self.console_errors.append(
            f"HTTP {response.status} {response.url}"))

    def goto(self, path: str):
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.status < 400, f"{path}: HTTP {response and response.status}"
        return response

    def login(self, username: str, password: str = PASSWORD):
        self.goto("/accounts/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        with self.page.expect_navigation():
            self.page.click("main form button[type=submit]")
        assert "/accounts/login/" not in self.page.url, f"{username} could not log in"

    def submit(self, selector: str = "[data-testid=sign]"):
        """Click a submit button and wait for the page the form leads to."""
        with self.page.expect_navigation():
            self.page.click(selector)

    def shot(self, label: str) -> Path:
        self.shots += 1
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.test_name}-{self.name}-{self.shots:02d}-{re.sub(r'[^a-z0-9-]+', '-', label)}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def unlabelled_fields(self) -> list[str]:
        """Visible form fields a screen reader could not name (no <label for>, wrapping label or aria-label)."""
        return self.page.evaluate(UNLABELLED_FIELDS)

    def text(self, selector: str = "main") -> str:
        return self.page.inner_text(selector)

    def close(self):
        self.context.close()


@pytest.fixture
def people(browser, live_server, request):
    """people("generator") → a User with its own browser context; all are closed after the test."""
    opened: list[User] = []

    def open_(name: str, **context_options) -> User:
        user = User(browser, live_server.url, name, request.node.name.removeprefix("test_"), **context_options)
        opened.append(user)
        return user

    yield open_
    for user in opened:
        user.close()


UNLABELLED_FIELDS = """() => [...document.querySelectorAll('main input, main select, main textarea')]
  .filter(el => el.type !== 'hidden' && el.type !== 'submit' && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby') && !el.title)
  .map(el => el.outerHTML.slice(0, 120))"""
