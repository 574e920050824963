"""Path and query parameter types shared by the routes, with the bounds that keep them valid SQL."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from api.schemas.common import MAX_ID, MAX_OFFSET

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
LimitQuery = Annotated[int, Query(ge=1, le=100)]
