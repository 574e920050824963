"""The floor in a real browser: the app served by uvicorn with the demo data, driven by headless Chromium.

One server per database (SQLite, PostgreSQL) for the whole session, since loading the demo is the
slow part; each test gets a fresh browser context (no cookies) and a `Floor` that fails the test on
any console error, failed request or unexpected HTTP error, and screenshots every page it visits at
phone and desktop width under test-output/<test>/.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Request,
    Response,
    sync_playwright,
)

from api.app import create_app
from core.settings import Settings
from core.taxonomy import Role
from models.base import make_engine, make_session_factory, transaction
from models.migrate import upgrade
from scripts.demo import DEMO_USERS, load_demo
from tests.conftest import empty_database

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; ./dev.sh test installs it when missing
OUTPUT_DIR = Path(__file__).resolve().parents[3] / "test-output"
WIDTHS = {"mobile": (360, 740), "desktop": (1280, 800)}
TIMEOUT_MS = 15_000


@dataclass(frozen=True)
class FloorServer:
    url: str
    settings: Settings


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def floor_database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database URL for the session's server: a SQLite file or a PostgreSQL schema of its own."""
    sqlite_file = tmp_path_factory.mktemp("floor-sqlite") / "floor.db"
    with empty_database(request.param, sqlite_file=sqlite_file, schema_prefix="e2e") as url:
        yield url


@pytest.fixture(scope="session")
def floor_server(floor_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FloorServer]:
    """The real app (pages and API) with the demo loaded, on a free local port.

    The deterministic fake encoder is enough here: the journeys test the pages, not ranking quality
    (the demo's unaccented Vietnamese search works through BM25 syllables; tests/api/test_demo_search.py
    checks the real model). The suggestion worker stays off so that every test finds the store as the
    journeys left it, not as a background pass half-way through left it: the queue holds what members
    ask for (engine suggestions in the queue are tested in tests/web/test_broker_pages.py).
    """
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("floor-data"),
        database_url=floor_database,
        embedding_model="fake:64",
        background_workers=False,
    )
    engine = make_engine(settings.sqlalchemy_url)
    upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        load_demo(session=session)
    engine.dispose()

    sock = _free_socket()
    port = sock.getsockname()[1]
    app = create_app(settings)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="floor-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive():
            pytest.fail("the floor's server stopped while starting; see the log above")
        if time.monotonic() > deadline:
            pytest.fail("the floor's server did not start within 120 s")
        time.sleep(0.05)
    _settle(app)
    try:
        yield FloorServer(url=f"http://127.0.0.1:{port}", settings=settings)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def _settle(app: FastAPI, timeout: float = 120.0) -> None:
    """Wait until the demo is searchable (the index sync has applied what start-up queued)."""
    if not app.state.runtime.index_sync.wait_idle(timeout):
        pytest.fail(f"the floor's indexes were still being built after {timeout:.0f} s")


# Per package, not per session: Playwright's sync API keeps an event loop running in the main thread
# until it stops, and a test elsewhere calling asyncio.run() on the same pytest-xdist worker, which
# may take modules in any order, would fail after it.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `./dev.sh test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


@dataclass(frozen=True)
class Allowed:
    """An HTTP error the test provokes on purpose (a refused form, a forbidden page)."""

    status: int
    path: re.Pattern[str]


@dataclass
class Floor:
    """A browser tab on the floor that records what went wrong and screenshots each page it visits."""

    url: str
    context: BrowserContext
    page: Page
    output: Path
    problems: list[str] = field(default_factory=list)
    allowed: list[Allowed] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)
    shot: set[str] = field(default_factory=set)
    shots: int = 0

    def _is_allowed(self, status: int, url: str) -> bool:
        path = url.removeprefix(self.url)
        return any(entry.status == status and entry.path.search(path) for entry in self.allowed)

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        # Chromium logs every HTTP error as "Failed to load resource"; deliberate ones are allowed.
        found = re.search(r"status of (\d{3})", message.text)
        if found and self._is_allowed(int(found.group(1)), message.location.get("url", "")):
            return
        self.problems.append(f"console error: {message.text} at {message.location}")

    def _on_response(self, response: Response) -> None:
        if response.status >= 400 and not self._is_allowed(response.status, response.url):
            self.problems.append(f"HTTP {response.status} for {response.request.method} {response.url}")

    def _on_request_failed(self, request: Request) -> None:
        self.problems.append(f"request failed: {request.method} {request.url}: {request.failure}")

    def _on_navigated(self, frame: object) -> None:
        if frame is self.page.main_frame:
            self.visited.append(self.page.url)

    def attach(self) -> None:
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("response", self._on_response)
        self.page.on("requestfailed", self._on_request_failed)
        self.page.on("framenavigated", self._on_navigated)

    def allow(self, status: int, path: str) -> None:
        """Expect HTTP `status` for URLs whose path matches the regular expression `path`."""
        self.allowed.append(Allowed(status, re.compile(path)))

    def shoot(self, name: str) -> None:
        """Screenshot the current page at phone and desktop width (the test goes on at desktop width)."""
        self.page.wait_for_load_state("load")
        self.shots += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        for width_name, (width, height) in WIDTHS.items():
            self.page.set_viewport_size({"width": width, "height": height})
            self.page.screenshot(
                path=self.output / f"{self.shots:02d}-{slug}-{width_name}.png", full_page=True
            )
        self.shot.add(self.page.url)

    def sign_in(self, role: Role, next_path: str = "/") -> None:
        """Sign in as the demo user of `role` through the sign-in form."""
        email, password, _organization = DEMO_USERS[role]
        self.visit(f"/sign-in?next={next_path}", f"sign-in {role.value}")
        self.page.locator("#email").fill(email)
        self.page.locator("#password").fill(password)
        with self.page.expect_navigation():
            self.page.locator('form[action="/sign-in"] button[type=submit]').click()
        assert self.page.url.endswith(next_path), self.page.url
        self.shoot(f"signed in {role.value}")

    def sign_out(self) -> None:
        with self.page.expect_navigation():
            self.page.locator('form[action="/sign-out"] button[type=submit]').click()
        self.shoot("signed out")

    def submit(self, button: Locator, name: str) -> Response | None:
        """Click a form's button, wait for the page it leads to, and screenshot that page."""
        with self.page.expect_navigation() as navigation:
            button.click()
        self.shoot(name)
        return navigation.value

    def visit(self, path: str, name: str | None = None) -> Response | None:
        """Open a page of the floor and screenshot it."""
        response = self.page.goto(self.url + path)
        self.shoot(name or path)
        return response

    def check(self) -> None:
        """Fail on anything that went wrong in the browser, and on a visited page left without a screenshot."""
        unshot = [url for url in dict.fromkeys(self.visited) if url not in self.shot and url != "about:blank"]
        problems = self.problems + [f"page visited without a screenshot: {url}" for url in unshot]
        self.problems = []
        if problems:
            pytest.fail("the browser saw problems:\n" + "\n".join(problems))


def _output_dir(node: pytest.Item) -> Path:
    folder = OUTPUT_DIR / re.sub(r"[^A-Za-z0-9_.-]+", "_", node.nodeid.split("::", 1)[-1])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def floor(request: pytest.FixtureRequest, floor_server: FloorServer, browser: Browser) -> Iterator[Floor]:
    """A fresh browser context (no cookies) on the session's server, checked when the test ends."""
    width, height = WIDTHS["desktop"]
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    tab = Floor(url=floor_server.url, context=context, page=page, output=_output_dir(request.node))
    tab.attach()
    try:
        yield tab
        tab.check()
    finally:
        context.close()
