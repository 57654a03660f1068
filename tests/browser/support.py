"""Helpers of the browser tests: Chromium's arguments, the served site, logging in, screenshots."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# Customer Support sessions of the served demo. Each test file keeps to its own indexes, so no
# test finds a session another one changed: sessions_ui 1; processes_ui 2-5; supervisor_ui 6, 7,
# 10; process_admin_ui 8, 9; live_ui 12-15; small_screens 16-18; composer_ui 19-23; apps_ui the
# last. Tests that need more make their own sessions.
SUPPORT_SESSIONS = 30

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass(frozen=True)
class Site:
    """The served product: its URL, Customer Support session ids and one Sales session id."""

    url: str
    support: tuple[int, ...]
    sales: int
    database_url: str = ""  # the served app's database, for tests that run its jobs
    app: Any = None  # the served Flask app, for tests that act on the server's side


def shot(page: Any, name: str) -> None:
    """Save a full-page screenshot to test-artifacts/ (kept by CI, ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def login(page: Any, username: str, password: str) -> None:
    """Log in through the form, as a person would."""
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/sessions**")
