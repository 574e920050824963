"""Webhook delivery: retries with backoff, one idempotency key per notification, nothing lost when killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.webhooks import WebhookDeliverer
from core.access import Viewer
from core.settings import Settings
from core.taxonomy import OrgKind, Region, Role
from models.base import transaction
from models.listings import Need, Offer, create_listing
from models.match_pairs import Scoring
from models.match_pipeline import record_suggestion, transition
from models.matches import Match, MatchStatus
from models.organizations import create_organization
from models.outbox import Notification, NotificationStatus

ROOT = Path(__file__).resolve().parents[2]
BROKER = Viewer(role=Role.BROKER, api_key_id=1)


class Receiver:
    """A real HTTP endpoint on 127.0.0.1 that records every POST with its Idempotency-Key.

    `respond` decides per request: a status code, after an optional hold (to be killed
    during); `unique` is the receiver's deduplicated view, as a real integration keeps it.
    """

    def __init__(self) -> None:
        self.received: list[tuple[str, str, dict]] = []
        self.respond: Callable[[int], tuple[int, float]] = lambda _n: (200, 0.0)
        self.reply_headers: dict[str, str] = {}
        self.reply_body = b""
        self.release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with receiver._lock:
                    receiver.received.append((self.path, self.headers["Idempotency-Key"], body))
                    status, hold = receiver.respond(len(receiver.received))
                if hold:
                    receiver.release.wait(hold)
                self.send_response(status)
                for name, value in receiver.reply_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(receiver.reply_body)))
                self.end_headers()
                self.wfile.write(receiver.reply_body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def unique(self) -> dict[str, dict]:
        with self._lock:
            return {key: body for _path, key, body in self.received}

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(self.received) >= count

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def introduce_one_pair(factory: sessionmaker[Session], url: str) -> None:
    """An enterprise and an institute with webhooks, one match introduced: two notifications pending."""
    with transaction(factory) as session:
        orgs = [
            create_organization(
                session=session,
                values={
                    "slug": slug,
                    "name": slug,
                    "kind": kind,
                    "region": Region.HO_CHI_MINH_CITY,
                    "webhook_url": f"{url}/{slug}",
                },
            )
            for slug, kind in (("ent", OrgKind.ENTERPRISE), ("inst", OrgKind.RESEARCH_INSTITUTE))
        ]
        shared = {
            "description": "d",
            "sector": "ai",
            "region": "ha_noi",
            "language": "en",
            "status": "published",
        }
        need = create_listing(
            session=session,
            model=Need,
            values={**shared, "organization_id": orgs[0].id, "title": "need", "min_trl": 3},
        )
        offer = create_listing(
            session=session,
            model=Offer,
            values={
                **shared,
                "organization_id": orgs[1].id,
                "title": "offer",
                "trl": 5,
                "ip_status": "patent",
            },
        )
        record_suggestion(
            session=session,
            need=need,
            offer=offer,
            strong_threshold=None,
            scoring=Scoring(
                score=0.9,
                text_score=0.9,
                explanation={},
                features=[0.5] * 9,
                feature_names=["x"] * 9,
                ranker_version="default-v1",
            ),
        )
        match = session.scalars(select(Match)).unique().one()
        transition(session=session, match=match, to=MatchStatus.ACCEPTED, actor=BROKER)
        transition(session=session, match=match, to=MatchStatus.INTRODUCED, actor=BROKER)


def settings_for(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "webhook_base_delay_seconds": 0.05,
        "webhook_timeout_seconds": 2.0,
        "webhook_poll_seconds": 0.05,
        # The test receivers listen on loopback, which webhooks may not reach by default.
        "webhook_allowed_networks": ["127.0.0.1/32"],
    }
    return Settings(data_dir=tmp_path, database_url=database_url, **{**values, **overrides})


def statuses(factory: sessionmaker[Session]) -> list[tuple[str, int]]:
    with factory() as session:
        return [
            (n.status.value, n.attempts)
            for n in session.scalars(select(Notification).order_by(Notification.id)).unique()
        ]


def test_failed_deliveries_are_retried_with_the_same_key_then_given_up(
    factory: sessionmaker[Session], receiver: Receiver, database_url: str, tmp_path: Path
) -> None:
    introduce_one_pair(factory, receiver.url)
    # /ent fails twice then recovers; /inst never does.
    seen: dict[str, int] = {}

    def respond(_n: int) -> tuple[int, float]:
        path = receiver.received[-1][0]
        seen[path] = seen.get(path, 0) + 1
        return (200 if path == "/ent" and seen[path] > 2 else 503), 0.0

    receiver.respond = respond
    deliverer = WebhookDeliverer(
        settings=settings_for(database_url, tmp_path, webhook_max_attempts=4), session_factory=factory
    )
    deliverer.start()
    try:
        assert deliverer.wait_idle(timeout=10)
    finally:
        deliverer.close()
    assert statuses(factory) == [("delivered", 3), ("failed", 4)]
    keys = {path: {key for p, key, _ in receiver.received if p == path} for path in ("/ent", "/inst")}
    assert all(len(found) == 1 for found in keys.values())  # one key per notification, every attempt
    body = next(body for path, _key, body in receiver.received if path == "/ent")
    assert body["event"] == "match.introduced" and body["counterpart"]["kind"] == "offer"
    with factory() as session:
        failed = session.scalars(
            select(Notification).where(Notification.status == NotificationStatus.FAILED)
        ).one()
    assert failed.last_status_code == 503 and "HTTP 503" in (failed.last_error or "")


@pytest.mark.integration
def test_killing_the_deliverer_mid_delivery_loses_nothing(
    factory: sessionmaker[Session], receiver: Receiver, database_url: str, tmp_path: Path
) -> None:
    introduce_one_pair(factory, receiver.url)
    receiver.respond = lambda n: (200, 30.0 if n == 1 else 0.0)  # hold the very first delivery
    env = {
        **os.environ,
        "TECHMATCH_DATABASE_URL": database_url,
        "TECHMATCH_DATA_DIR": str(tmp_path),
        "TECHMATCH_WEBHOOK_TIMEOUT_SECONDS": "2",
        "TECHMATCH_WEBHOOK_POLL_SECONDS": "0.05",
        "TECHMATCH_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.1/32"]',
    }
    service = subprocess.Popen(
        [sys.executable, "-m", "scripts.cli", "deliver-webhooks"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert receiver.wait_for(1, timeout=20), "the deliverer never called"
        service.send_signal(signal.SIGKILL)  # while the receiver holds the request
        service.wait(timeout=10)
    finally:
        if service.poll() is None:
            service.kill()
    assert statuses(factory)[0] == ("pending", 1)  # sent, but never acknowledged: not delivered

    restarted = WebhookDeliverer(settings=settings_for(database_url, tmp_path), session_factory=factory)
    restarted.start()
    try:
        assert restarted.wait_idle(timeout=15)  # the dead deliverer's claim lapses, then it is resent
    finally:
        restarted.close()
    assert [status for status, _ in statuses(factory)] == ["delivered", "delivered"]
    raw_keys = [key for _p, key, _b in receiver.received]
    assert len(raw_keys) == 3 and len(set(raw_keys)) == 2  # the held one twice, under the same key
    assert sorted(body["your_listing"]["kind"] for body in receiver.unique.values()) == ["need", "offer"]
