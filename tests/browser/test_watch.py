"""The watch itself: a Content-Security-Policy violation must show up as a console error."""

from __future__ import annotations

import pytest

from tests.browser.support import DESKTOP, UI, Account

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("form_factor", [DESKTOP], ids=["desktop"])
def test_csp_violation_is_reported_as_console_error(ui: UI, officer: Account):
    ui.log_in(officer.email, officer.password)
    assert not ui.watch.console_errors
    with ui.page.expect_console_message(lambda m: m.type == "error"):
        ui.page.evaluate(
            """() => {
                const script = document.createElement("script");
                script.textContent = "window.inlineScriptRan = true";
                document.body.append(script);
            }"""
        )
    assert ui.page.evaluate("window.inlineScriptRan") is None
    assert any("Content Security Policy" in e for e in ui.watch.console_errors), (
        ui.watch.console_errors
    )
