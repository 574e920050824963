"""Generation directories: a new generation becomes current at once, and a crash never leaves a broken one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from indexes.storage import CURRENT_FILE, current_generation, write_generation
from indexes.vector import VectorIndex


def write_text(name: str, content: str) -> Callable[[Path], None]:
    def writer(directory: Path) -> None:
        (directory / name).write_text(content)

    return writer


def test_no_generation_before_the_first_write(tmp_path: Path) -> None:
    assert current_generation(tmp_path) is None
    assert current_generation(tmp_path / "missing") is None


def test_each_write_switches_current_and_removes_the_old_generation(tmp_path: Path) -> None:
    first = write_generation(tmp_path, write_text("data.txt", "one"))
    assert current_generation(tmp_path) == first
    assert (first / "data.txt").read_text() == "one"

    second = write_generation(tmp_path, write_text("data.txt", "two"))

    assert second != first
    assert current_generation(tmp_path) == second
    assert (second / "data.txt").read_text() == "two"
    assert not first.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([CURRENT_FILE, second.name])


def test_a_failing_writer_leaves_the_previous_generation_current(tmp_path: Path) -> None:
    first = write_generation(tmp_path, write_text("data.txt", "one"))

    def failing_writer(directory: Path) -> None:
        (directory / "data.txt").write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_generation(tmp_path, failing_writer)

    assert current_generation(tmp_path) == first
    assert (first / "data.txt").read_text() == "one"
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([CURRENT_FILE, first.name])


def test_leftovers_of_a_crashed_write_are_ignored_then_cleaned(tmp_path: Path) -> None:
    first = write_generation(tmp_path, write_text("data.txt", "one"))
    (tmp_path / ".tmp-crashed").mkdir()
    (tmp_path / "gen-99999999").mkdir()  # renamed into place but never made current

    assert current_generation(tmp_path) == first
    second = write_generation(tmp_path, write_text("data.txt", "two"))

    assert int(second.name.removeprefix("gen-")) == 100_000_000
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([CURRENT_FILE, second.name])


WRITER_LOOP = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import numpy as np
    from indexes.storage import write_generation
    from indexes.vector import VectorIndex

    root = Path(sys.argv[1])
    rng = np.random.default_rng(0)
    index = VectorIndex(dimension=32, model_name="fake-hash-32", exact_search_max=300)
    batch = 0
    while True:
        ids = np.arange(batch * 50, batch * 50 + 50)
        index.upsert(ids, rng.standard_normal((50, 32)).astype(np.float32))
        index.delete(ids[:5].tolist())
        write_generation(root, index.save)
        batch += 1
    """
)


@pytest.mark.integration
@pytest.mark.parametrize("seed", range(4))
def test_sigkill_during_writes_leaves_a_loadable_generation(tmp_path: Path, seed: int) -> None:
    root = tmp_path / "indexes"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen([sys.executable, "-c", WRITER_LOOP, str(root)], env=env)
    try:
        deadline = time.monotonic() + 60
        while current_generation(root) is None:
            assert process.poll() is None, "writer loop died on its own"
            assert time.monotonic() < deadline, "writer loop never committed a generation"
            time.sleep(0.01)
        time.sleep(random.Random(seed).uniform(0.0, 1.5))
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()

    generation = current_generation(root)
    assert generation is not None
    index = VectorIndex.load(generation, expected_model="fake-hash-32", expected_dimension=32)
    assert len(index) > 0
    assert len(index) % 45 == 0  # whole batches only: 50 upserted, 5 deleted per generation
    probe = np.ones((1, 32), dtype=np.float32)
    assert len(index.search(probe, 10)[0]) == 10
