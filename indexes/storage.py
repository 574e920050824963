"""Atomic generation directories: indexes are written into a fresh directory, then made current at once.

A `CURRENT` file names the live generation and is only ever replaced with `os.replace`, so a crash at any
point leaves either the old or the new generation current, never a half-written one.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

CURRENT_FILE = "CURRENT"
GENERATION_PREFIX = "gen-"
TEMP_PREFIX = ".tmp-"


def current_generation(root: Path) -> Path | None:
    """Directory of the generation `CURRENT` points at, or None when nothing was ever committed."""
    try:
        name = (root / CURRENT_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    generation = root / name
    return generation if name and generation.is_dir() else None


def write_generation(root: Path, writer: Callable[[Path], None]) -> Path:
    """Let `writer` fill a new generation directory, make it current, and remove the older ones.

    Assumes a single writer per root (the caller serialises saves); if `writer` raises, the previous
    generation stays current and the partial directory is removed.
    """
    root.mkdir(parents=True, exist_ok=True)
    temp_dir = root / f"{TEMP_PREFIX}{uuid.uuid4().hex}"
    temp_dir.mkdir()
    try:
        writer(temp_dir)
        _fsync_tree(temp_dir)
        generation = root / f"{GENERATION_PREFIX}{_next_sequence(root):08d}"
        os.rename(temp_dir, generation)
        _fsync_directory(root)
    except BaseException:
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    _point_current_at(root, generation.name)
    _remove_stale(root, keep=generation.name)
    return generation


def link_from_sibling(target: Path) -> bool:
    """Hard-link `target` from the generation beside its directory that holds a file of that name (an
    immutable part an earlier save wrote); False when none does. Not from a hidden (temporary, maybe
    half-written) directory."""
    sources = target.parent.parent.glob(f"[!.]*/{target.name}")
    source = next((path for path in sources if path.parent != target.parent), None)
    if source is None:
        return False
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
    return True


def _next_sequence(root: Path) -> int:
    # Orphans of a crashed write count too, so a new generation never reuses their name.
    sequences = [
        int(path.name.removeprefix(GENERATION_PREFIX))
        for path in root.glob(f"{GENERATION_PREFIX}*")
        if path.name.removeprefix(GENERATION_PREFIX).isdigit()
    ]
    return max(sequences, default=0) + 1


def _point_current_at(root: Path, name: str) -> None:
    pointer_temp = root / f"{CURRENT_FILE}.{uuid.uuid4().hex}.tmp"
    with open(pointer_temp, "w", encoding="utf-8") as pointer:
        pointer.write(name + "\n")
        pointer.flush()
        os.fsync(pointer.fileno())
    os.replace(pointer_temp, root / CURRENT_FILE)
    _fsync_directory(root)


def _remove_stale(root: Path, *, keep: str) -> None:
    for path in root.iterdir():
        if path.name == keep:
            continue
        if path.is_dir() and path.name.startswith((GENERATION_PREFIX, TEMP_PREFIX)):
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_file() and path.name.startswith(f"{CURRENT_FILE}.") and path.name.endswith(".tmp"):
            path.unlink(missing_ok=True)


def _fsync_tree(directory: Path) -> None:
    for path in sorted(directory.rglob("*"), key=lambda item: len(item.parts), reverse=True):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
        elif path.is_dir():
            _fsync_directory(path)
    _fsync_directory(directory)


def _fsync_directory(directory: Path) -> None:
    # A directory fsync makes the names inside it (new files, renames) durable, not just their bytes.
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
