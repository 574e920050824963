"""Delivers outbox notifications to organizations' webhook URLs, with retries and exponential backoff.

Delivery is at least once: a notification is marked delivered only after a 2xx answer,
so a crash between sending and recording sends it again. Each POST carries the same
`Idempotency-Key` every time, which lets the receiver keep exactly one copy.
"""

from __future__ import annotations

import logging
import threading
import time

import httpx
from sqlalchemy.orm import Session, sessionmaker

from api.webhook_targets import webhook_client
from core.settings import Settings
from models.base import transaction, utcnow
from models.outbox import (
    Notification,
    NotificationStatus,
    claim,
    count_by_status,
    due_ids,
    record_delivery,
    record_failure,
    watch_outbox,
)

log = logging.getLogger(__name__)
USER_AGENT = "techmatch-webhooks/1"


def request_of(notification: Notification) -> tuple[dict[str, str], dict[str, object]]:
    """Headers and JSON body of one delivery; both are the same on every attempt."""
    headers = {
        "Idempotency-Key": notification.idempotency_key,
        "X-Techmatch-Event": notification.event,
        "User-Agent": USER_AGENT,
    }
    return headers, {"notification_id": notification.id, **notification.payload}


class WebhookDeliverer:
    """Sends due notifications on its own thread; `deliver_due` runs one pass for tests and the CLI."""

    def __init__(
        self,
        *,
        settings: Settings,
        session_factory: sessionmaker[Session],
        client: httpx.Client | None = None,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.client = client or webhook_client(
            timeout=settings.webhook_timeout_seconds, allowed_networks=settings.webhook_allowed_networks
        )
        # A claim outlasts one request (httpx's timeout is per phase), so that a live
        # deliverer is not raced; a dead one's claim lapses and the notification is retried.
        self.lease_seconds = 2 * settings.webhook_timeout_seconds + 1
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        watch_outbox(session_factory, self.wake)

    def wake(self) -> None:
        """Look for work now instead of at the next poll (called after a commit wrote to the outbox)."""
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Stop after the delivery in flight; what is pending stays in the outbox for the next start."""
        if self._thread is not None:
            self._stop.set()
            self._wake.set()
            self._thread.join(timeout=2 * self.lease_seconds)
            self._thread = None
        self.client.close()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no notification is pending (delivered or given up), or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while True:
            with self.session_factory() as session:
                if not count_by_status(session=session).get(NotificationStatus.PENDING, 0):
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def health(self) -> dict[str, int]:
        with self.session_factory() as session:
            return count_by_status(session=session)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.deliver_due()
            except Exception:  # the database may be briefly unavailable; try again at the next poll
                log.exception("webhook delivery pass failed")
            self._wake.wait(self.settings.webhook_poll_seconds)
            self._wake.clear()

    def deliver_due(self) -> int:
        """Attempt every notification that is due now; returns how many were delivered."""
        with self.session_factory() as session:
            ids = due_ids(session=session, now=utcnow())
        delivered = 0
        for notification_id in ids:
            if self._stop.is_set():
                break
            try:
                delivered += self._attempt(notification_id)
            except Exception:  # e.g. the database went away mid-pass: the claim lapses and it is retried
                log.exception("webhook %d: delivery attempt failed", notification_id)
        return delivered

    def _attempt(self, notification_id: int) -> bool:
        with transaction(self.session_factory) as session:
            notification = claim(
                session=session,
                notification_id=notification_id,
                now=utcnow(),
                lease_seconds=self.lease_seconds,
            )
            if notification is None:
                return False
            url = notification.organization.webhook_url
            headers, body = request_of(notification)
        status_code: int | None = None
        # The request is made outside any transaction: no database lock is held while a receiver is slow.
        if url is None:
            error = "the organization has no webhook_url"
        else:
            try:
                response = self.client.post(url, json=body, headers=headers)
                status_code = response.status_code
                # The receiver's body is never kept: brokers read last_error, and a hostile
                # receiver could make it say anything (or echo an internal service's answer).
                error = "" if response.is_success else f"HTTP {status_code}"
            except Exception as exc:  # any failure to send is a failed attempt (an invalid URL too)
                error = f"{type(exc).__name__}: {str(exc)[:300]}"
        with transaction(self.session_factory) as session:
            notification = session.get(Notification, notification_id)
            if notification is None:
                return False
            if not error and status_code is not None:
                record_delivery(
                    session=session, notification=notification, status_code=status_code, now=utcnow()
                )
                return True
            record_failure(
                session=session,
                notification=notification,
                error=error,
                status_code=status_code,
                now=utcnow(),
                max_attempts=self.settings.webhook_max_attempts,
                base_delay=self.settings.webhook_base_delay_seconds,
                max_delay=self.settings.webhook_max_delay_seconds,
            )
            log.info(
                "webhook %d to %s failed (attempt %d): %s", notification_id, url, notification.attempts, error
            )
            return False
