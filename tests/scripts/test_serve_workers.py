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

from scripts.bench_load import free_port

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
def serving(env: dict[str, str], *options: str) -> Iterator[str]:
    """A `techmatch serve` process; its API base URL once it answers."""
    port = free_port()
    command = [sys.executable, "-m", "scripts.cli", "serve", "--port", str(port), *options]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


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


def test_a_write_through_one_process_is_found_through_the_other(environment: dict[str, str]) -> None:
    with ExitStack() as stack:
        first = stack.enter_context(serving(environment))
        second = stack.enter_context(serving(environment))
        roles = {httpx.get(f"{base}/healthz", headers=ADMIN).json()["role"] for base in (first, second)}
        assert roles == {"leader", "follower"}
        for writer, reader, word in ((first, second, "zqxone"), (second, first, "zqxtwo")):
            assert found_within(reader, word, post_offer(writer, word))


def test_serve_workers_starts_one_leader(environment: dict[str, str], tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serving(environment, "--workers", "2") as base:
        roles: dict[int, str] = {}
        deadline = time.monotonic() + WAIT_SECONDS
        while len(roles) < 2 and time.monotonic() < deadline:
            # A fresh connection each time: the kernel hands it to either worker (not in turn).
            health = httpx.get(f"{base}/healthz", headers={**ADMIN, "Connection": "close"}).json()
            roles[health["workers"]["store_follower"]["pid"]] = health["role"]
        assert list(roles.values()).count("leader") <= 1
        # The lock names its holder, a live worker, and the leader's notice is its.
        holder = (data / "leader.lock").read_text().strip()
        assert Path(f"/proc/{holder.split('-')[0]}").exists()
        assert (data / "leader.ready").read_text().split()[0] == holder
        assert all(role == "leader" for pid, role in roles.items() if holder.startswith(f"{pid}-"))
        assert found_within(base, "zqxthree", post_offer(base, "zqxthree"))
