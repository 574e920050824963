"""Rate limits on the expensive endpoints (search and matches): per API key, or per address for
anonymous callers, answered with 429 and Retry-After. Counters live in this process's memory, like
the indexes: with several API workers a client may get up to that many times the rate (decisions)."""

from __future__ import annotations

import math
import time

from fastapi import HTTPException, Request
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from api.deps import ViewerDep
from core.settings import Settings


class RateLimits:
    """The limits of one application and their counters."""

    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limits_enabled
        self.per_key: RateLimitItem = parse(settings.rate_limit_per_key)
        self.per_address: RateLimitItem = parse(settings.rate_limit_per_address)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, *, api_key_id: int | None, address: str) -> None:
        """Count one request; HTTPException 429 when the caller is over its limit."""
        if not self.enabled:
            return
        item, who = (
            (self.per_key, f"key:{api_key_id}")
            if api_key_id is not None
            else (self.per_address, f"ip:{address}")
        )
        if self.limiter.hit(item, "expensive", who):
            return
        reset_at = self.limiter.get_window_stats(item, "expensive", who).reset_time
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise HTTPException(
            429,
            f"Too many search or match requests (limit {item}); retry in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )


def rate_limited(request: Request, viewer: ViewerDep) -> None:
    """Dependency of the expensive routes."""
    limits: RateLimits = request.app.state.rate_limits
    address = request.client.host if request.client else "unknown"
    limits.hit(api_key_id=viewer.api_key_id, address=address)
