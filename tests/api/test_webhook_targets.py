"""Webhooks reach only public addresses (or allow-listed networks), and a bad target costs one attempt."""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import ip_network
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.webhook_targets import url_problem
from api.webhooks import WebhookDeliverer
from models.base import transaction
from models.organizations import Organization
from models.outbox import Notification
from tests.api.conftest import World
from tests.api.test_webhooks import Receiver, introduce_one_pair, settings_for, statuses


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


INTERNAL = [
    "http://127.0.0.1:8000/hook",
    "http://localhost/hook",
    "http://api.localhost/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://0x7f000001/hook",
    "http://2130706433/hook",
    "http://127.1/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://10.1.2.3/hook",
    "http://192.168.0.10/hook",
    "http://0.0.0.0/hook",
]


@pytest.mark.parametrize("url", INTERNAL)
def test_internal_addresses_are_refused_when_set(client: TestClient, world: World, url: str) -> None:
    org = f"/api/v1/organizations/{world.org['ent-a']}"
    response = client.patch(org, json={"webhook_url": url}, headers=world.auth("ent-a"))
    assert response.status_code == 422, url
    assert "not public" in response.json()["error"]["message"]


@pytest.mark.parametrize("url", ["http://[::1", "http://", "http://:80/x", "https://exa mple.com/"])
def test_unusable_urls_are_refused(client: TestClient, world: World, url: str) -> None:
    org = f"/api/v1/organizations/{world.org['ent-a']}"
    response = client.patch(org, json={"webhook_url": url}, headers=world.auth("ent-a"))
    assert response.status_code == 422, url


def test_allow_listed_networks_and_public_names_are_accepted() -> None:
    assert url_problem("https://hooks.example.com/x", []) is None
    assert url_problem("http://8.8.8.8/x", []) is None
    assert url_problem("http://10.1.2.3/hook", [ip_network("10.0.0.0/8")]) is None
    assert url_problem("http://10.1.2.3/hook", [ip_network("10.9.0.0/16")]) is not None


def point_webhooks_at(factory: sessionmaker[Session], urls: dict[str, str]) -> None:
    """Set webhook URLs behind the API's back (as an import or an old row could)."""
    with transaction(factory) as session:
        for organization in session.scalars(select(Organization)):
            organization.webhook_url = urls[organization.slug]


def test_names_resolving_to_internal_addresses_are_not_contacted(
    factory: sessionmaker[Session], receiver: Receiver, database_url: str, tmp_path: Path
) -> None:
    introduce_one_pair(factory, receiver.url)
    port = receiver.url.rsplit(":", 1)[1]
    point_webhooks_at(factory, {"ent": f"http://localhost:{port}/ent", "inst": f"http://0x7f000001:{port}/i"})
    # Default settings: no network allow-listed.
    settings = settings_for(database_url, tmp_path, webhook_allowed_networks=[], webhook_max_attempts=1)
    deliverer = WebhookDeliverer(settings=settings, session_factory=factory)
    try:
        deliverer.deliver_due()
    finally:
        deliverer.close()
    assert receiver.received == []
    assert statuses(factory) == [("failed", 1), ("failed", 1)]
    with factory() as session:
        errors = [n.last_error or "" for n in session.scalars(select(Notification)).unique()]
    assert all("not public" in error for error in errors)


def test_redirects_are_not_followed_and_receiver_bodies_not_kept(
    factory: sessionmaker[Session], receiver: Receiver, database_url: str, tmp_path: Path
) -> None:
    introduce_one_pair(factory, receiver.url)
    receiver.respond = lambda _n: (302, 0.0)
    receiver.reply_headers = {"Location": "http://169.254.169.254/latest/meta-data"}
    receiver.reply_body = b"secret internal answer"
    deliverer = WebhookDeliverer(
        settings=settings_for(database_url, tmp_path, webhook_max_attempts=1), session_factory=factory
    )
    try:
        deliverer.deliver_due()
    finally:
        deliverer.close()
    assert len(receiver.received) == 2  # one POST each, no second request to the Location
    with factory() as session:
        notifications = list(session.scalars(select(Notification)).unique())
    assert [(n.last_status_code, n.last_error) for n in notifications] == [(302, "HTTP 302")] * 2


def test_a_poison_url_is_one_failed_attempt_and_does_not_stop_the_others(
    factory: sessionmaker[Session], receiver: Receiver, database_url: str, tmp_path: Path
) -> None:
    introduce_one_pair(factory, receiver.url)
    point_webhooks_at(factory, {"ent": "http://[::1", "inst": f"{receiver.url}/inst"})
    settings = settings_for(database_url, tmp_path, webhook_max_attempts=2, webhook_base_delay_seconds=0.01)
    deliverer = WebhookDeliverer(settings=settings, session_factory=factory)
    try:
        deliverer.deliver_due()
        assert statuses(factory) == [("pending", 1), ("delivered", 1)]  # the poison one is retried...
        deliverer.start()
        assert deliverer.wait_idle(5)
    finally:
        deliverer.close()
    assert statuses(factory) == [("failed", 2), ("delivered", 1)]  # ...and given up after max_attempts
    with factory() as session:
        poison = session.scalars(select(Notification).order_by(Notification.id)).first()
    assert poison is not None and "InvalidURL" in (poison.last_error or "")
