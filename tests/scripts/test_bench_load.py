"""The benches' server handling: stopping a server leaves none of its processes behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from scripts.bench_load import stop_server

# A parent that ignores SIGTERM (as a server busy indexing at start does for long) with one child.
STUBBORN_PARENT = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
open(sys.argv[1], "w").write(str(child.pid))
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        # A zombie is gone for our purpose; its parent (not us) has yet to reap it.
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False


def test_stopping_a_stubborn_server_kills_its_workers_too(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    server = subprocess.Popen([sys.executable, "-c", STUBBORN_PARENT, str(pid_file)], start_new_session=True)
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(pid_file.read_text())
    assert _alive(child)
    stop_server(server, timeout=0.5)
    assert server.returncode is not None
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


# A bench that starts a long-running "server" through `server_process`, prints its pid, then waits.
BENCH = """
import sys, time
from scripts.bench_load import server_process
child = server_process([sys.executable, "-c", "import time; time.sleep(120)"], env=None)
print(child.pid, flush=True)
time.sleep(120)
"""


def test_a_server_stops_when_the_bench_that_started_it_is_killed() -> None:
    with subprocess.Popen([sys.executable, "-c", BENCH], stdout=subprocess.PIPE, text=True) as bench:
        assert bench.stdout is not None
        server = int(bench.stdout.readline())
        assert _alive(server)
        bench.kill()  # SIGKILL: the bench gets no chance to stop its server itself
    deadline = time.monotonic() + 10
    while _alive(server) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(server)
