"""`techmatch serve` as several real processes on one data directory (issue 11): a listing written
through one process is found by a search through another, and exactly one process leads."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from scripts.bench_load import free_port, stop_server

ADMIN = {"Authorization": "Bearer tm_demo_admin"}
INSTITUTE = {"Authorization": "Bearer tm_demo_institute"}
WAIT_SECONDS = 10.0
START_SECONDS = 180.0

pytestmark = pytest.mark.integration  # spawns servers


@pytest.fixture
def environment(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "TECHMATCH_DATA_DIR": str(tmp_path / "data"),
        "TECHMATCH_DATABASE_URL": database_url,
        "TECHMATCH_EMBEDDING_MODEL": "fake:64",
        "TECHMATCH_BACKGROUND_WORKERS": "false",
        "TECHMATCH_RATE_LIMITS_ENABLED": "false",
        "TECHMATCH_API_WORKERS": "2",
    }
    cli = [sys.executable, "-m", "scripts.cli", "load-demo"]
    subprocess.run(cli, env=env, check=True, stdout=subprocess.DEVNULL)
    return env


@contextmanager
def serving(env: dict[str, str], *options: str, log: Path | None = None) -> Iterator[str]:
    """A `techmatch serve` process; its API base URL once it answers; `log`: where its output goes."""
    port = free_port()
    command = [sys.executable, "-m", "scripts.cli", "serve", "--port", str(port), *options]
    output = log.open("wb") if log else subprocess.DEVNULL
    server = subprocess.Popen(
        command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert server.poll() is None, f"serve exited with {server.returncode}"
        yield base
    finally:
        stop_server(server)
        if log:
            output.close()  # type: ignore[union-attr]


def post_offer(base: str, word: str) -> int:
    body = {
        "title": f"Thiết bị {word}",
        "description": f"{word} offer written through one worker.",
        "sector": "environment_water",
        "trl": 6,
        "ip_status": "patent",
        "region": "ho_chi_minh_city",
        "language": "vi",
        "status": "published",
    }
    posted = httpx.post(f"{base}/offers", json=body, headers=INSTITUTE, timeout=30)
    assert posted.status_code == 201, posted.text
    return int(posted.json()["id"])


def found_within(base: str, word: str, offer_id: int) -> bool:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        items = httpx.get(f"{base}/search/offers", params={"q": word}, timeout=30).json()["items"]
        if any(item["offer"]["id"] == offer_id for item in items):
            return True
        time.sleep(0.1)
    return False


def roles_seen(*bases: str, tries: int = 10) -> dict[int, str]:
    """Worker pid -> role, from /healthz over fresh connections (the kernel picks the worker, not in turn)."""
    roles: dict[int, str] = {}
    for _ in range(tries):
        for base in bases:
            health = httpx.get(f"{base}/healthz", headers={**ADMIN, "Connection": "close"}).json()
            roles[health["workers"]["store_follower"]["pid"]] = health["role"]
    return roles


def lock_holder(data: Path) -> int:
    """The pid of the process holding the data directory's leader lock (a live one)."""
    pid = int((data / "leader.lock").read_text().strip().split("-")[0])
    assert Path(f"/proc/{pid}").exists()
    return pid


def test_a_write_through_one_process_is_found_through_the_other(
    environment: dict[str, str], tmp_path: Path
) -> None:
    with ExitStack() as stack:
        # Two servers on one data directory, each with the environment's two workers: one leader in all.
        first = stack.enter_context(serving(environment))
        second = stack.enter_context(serving(environment))
        holder = lock_holder(tmp_path / "data")
        roles = roles_seen(first, second)
        assert len(roles) >= 2
        assert all((role == "leader") == (pid == holder) for pid, role in roles.items())
        for writer, reader, word in ((first, second, "zqxone"), (second, first, "zqxtwo")):
            assert found_within(reader, word, post_offer(writer, word))


def test_serve_workers_starts_one_leader(environment: dict[str, str], tmp_path: Path) -> None:
    data, log = tmp_path / "data", tmp_path / "serve.log"
    with serving(environment, "--workers", "2", log=log) as base:
        roles = roles_seen(base)
        # The lock names its holder, a live worker, and the leader's notice is its.
        holder = lock_holder(data)
        assert (data / "leader.ready").read_text().split()[0] == (data / "leader.lock").read_text().strip()
        assert all((role == "leader") == (pid == holder) for pid, role in roles.items())
        assert found_within(base, "zqxthree", post_offer(base, "zqxthree"))
    # The workers log through the application's handler (with --workers they were silent): the
    # leader's notice is there. (A follower may take over and say so too while they shut down.)
    assert f"INFO api.leadership: API worker {holder} leads" in log.read_text()
