"""The background workers' loop over changed listings: a transaction each, so a failure costs one listing."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable

from sqlalchemy.exc import IntegrityError


def each_listing(
    changes: Iterable[tuple[str, int]],
    handle: Callable[[str, int], Counter[str]],
    *,
    log: logging.Logger,
    failure: str,
) -> Counter[str]:
    """`handle(kind, id)` for each change once, summed; `failure` (with kind and id) is logged on an error.

    A unique-key race (a broker or the pair's other listing wrote the same row at the same moment) is
    retried once: the second pass sees the other writer's row. Any other error is logged and counted as
    "failed"; the next change of that listing, or the worker's recompute command, repairs it.
    """
    outcomes: Counter[str] = Counter()
    for kind, listing_id in sorted(set(changes)):
        try:
            try:
                outcomes += handle(kind, listing_id)
            except IntegrityError:
                outcomes += handle(kind, listing_id)
        except Exception:  # keep following the other changes
            log.exception(failure, kind, listing_id)
            outcomes["failed"] += 1
    return outcomes
