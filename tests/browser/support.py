"""Helpers for the browser tests: screen sizes, a watch on the browser, and navbar actions."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from playwright.sync_api import ConsoleMessage, Error, Locator, Page, Request, Response, expect

from tests.factories import PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LOCAL_HOST = "127.0.0.1"


@dataclass(frozen=True)
class Account:
    """A committed staff account, as plain values (usable outside the app context)."""

    email: str
    name: str
    password: str = PASSWORD


@dataclass(frozen=True)
class FormFactor:
    """A screen the journey runs on; `collapsed_nav` says whether the navbar folds away."""

    name: str
    width: int
    height: int
    mobile: bool

    @property
    def collapsed_nav(self) -> bool:
        return self.mobile

    def context_args(self) -> dict[str, Any]:
        return {
            "viewport": {"width": self.width, "height": self.height},
            "is_mobile": self.mobile,
            "has_touch": self.mobile,
            "device_scale_factor": 2 if self.mobile else 1,
            "locale": "en-GB",
            "timezone_id": "Europe/Brussels",
        }


DESKTOP = FormFactor("desktop", 1280, 800, mobile=False)
PHONE = FormFactor("phone", 390, 844, mobile=True)


@dataclass
class Watch:
    """Collects what the browser did: console errors, page errors, requests, failed responses."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    error_responses: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = (message.location or {}).get("url", "")
            self.console_errors.append(f"{message.text} (at {where})")

    def on_page_error(self, error: Error) -> None:
        self.page_errors.append(f"{error.name}: {error.message}")

    def on_request(self, request: Request) -> None:
        self.urls.append(request.url)

    def on_response(self, response: Response) -> None:
        if response.status >= 400:
            self.error_responses.append(
                f"{response.status} {response.request.method} {response.url}"
            )

    @staticmethod
    def is_local(url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme == "data":  # Bootstrap's inline SVG icons: nothing leaves the machine
            return True
        return parts.scheme in {"http", "ws"} and parts.hostname == LOCAL_HOST

    def assert_clean(self) -> None:
        assert not self.console_errors, f"console errors: {self.console_errors}"
        assert not self.page_errors, f"uncaught page errors: {self.page_errors}"
        assert not self.error_responses, f"error responses: {self.error_responses}"
        assert self.urls, "no request was recorded: the watch is not attached"
        foreign = [url for url in self.urls if not self.is_local(url)]
        assert not foreign, f"requests that leave {LOCAL_HOST}: {foreign}"


@dataclass
class UI:
    """One browser page at one screen size, with the actions every journey needs."""

    page: Page
    form_factor: FormFactor
    watch: Watch

    # --- navbar ---------------------------------------------------------------------------

    def open_menu(self) -> None:
        """Make the navbar's contents reachable: on a phone, tap the toggler first."""
        nav = self.page.locator("#main-nav")
        toggler = self.page.locator(".navbar-toggler")
        if self.form_factor.collapsed_nav:
            expect(nav).to_be_hidden()
            toggler.tap()
            expect(nav).to_have_class(re.compile(r"\bshow\b"))
        else:
            expect(toggler).to_be_hidden()
        expect(nav).to_be_visible()

    def press(self, locator: Locator) -> None:
        """Tap on a touch screen, click elsewhere."""
        if self.form_factor.mobile:
            locator.tap()
        else:
            locator.click()

    def search(self, text: str, screenshot: str = "") -> None:
        """Search from the navbar's box, as a user would."""
        self.open_menu()
        box = self.page.locator("#main-nav input[name=q]")
        box.fill(text)
        if screenshot:
            self.screenshot(screenshot)
        box.press("Enter")
        expect(self.page).to_have_url(re.compile(re.escape(f"/search/?{urlencode({'q': text})}")))
        expect(self.page.locator("main input[name=q]")).to_have_value(text)

    def go_to_register(self) -> None:
        self.open_menu()
        self.press(self.page.locator("#main-nav").get_by_role("link", name="Organisations"))
        expect(self.page).to_have_url(re.compile(r"/organisations/$"))

    def log_out(self) -> None:
        self.open_menu()
        self.press(self.page.locator("#user-menu"))
        logout = self.page.locator("#logout")
        expect(logout).to_be_visible()
        self.press(logout)
        expect(self.page).to_have_url(re.compile(r"/login$"))

    # --- pages ----------------------------------------------------------------------------

    def log_in(self, email: str, password: str) -> None:
        self.page.goto("/login")
        self.page.locator("#email").fill(email)
        self.page.locator("#password").fill(password)
        self.press(self.page.get_by_role("button", name="Log in"))
        expect(self.page).to_have_url(re.compile(r"/organisations/$"))
        expect(self.page.locator("#user-menu")).to_have_count(1)

    def assert_fits(self) -> None:
        """The page is no wider than the viewport (nothing scrolls sideways)."""
        self.page.wait_for_load_state("load")
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= self.form_factor.width, (
            f"{self.page.url} is {width}px wide on a {self.form_factor.width}px screen"
        )

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{self.form_factor.name}-{name}.png"
        self.page.wait_for_load_state("load")
        self.page.screenshot(path=path, full_page=True)
        return path
