"""Listing facets in memory: the filterable columns of every listing as numpy arrays (issue 11).

A list's total was a SQL count over every row its filters keep: 88 % of a filtered list at 10^5
listings (`json_each` over each row's transfer types). Here it is a few vector operations over
columns aligned by position, kept in line with the store like the record cache: change notifications
mark ids dirty, and the next count re-reads them in one query first.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Collection, Iterable, Sequence
from enum import StrEnum
from typing import Any

import numpy as np
from sqlalchemy import String, Text, cast, select, type_coerce
from sqlalchemy.orm import Session, sessionmaker

from core.access import Viewer
from core.taxonomy import Confidentiality, IPStatus, Language, ListingStatus, Region, Sector, TransferType
from models.id_sets import id_in
from models.listings import LISTING_MODELS, ListingFilters, Need, Offer, trl_column

log = logging.getLogger(__name__)

# Enum columns are small int codes: a member's position in its enum; a value the enum does not know
# (or NULL) gets len(enum), which no filter names, as no SQL `IN` of members would match it.
ENUMS: dict[str, type[StrEnum]] = {
    "status": ListingStatus,
    "confidentiality": Confidentiality,
    "sector": Sector,
    "ip_status": IPStatus,
    "region": Region,
    "language": Language,
}
CODES = {name: {member.value: code for code, member in enumerate(enum)} for name, enum in ENUMS.items()}
# Transfer types are one bit each; values outside the enum match no filter (the API takes only these).
TRANSFER_BITS = {member.value: 1 << bit for bit, member in enumerate(TransferType)}
# A NULL TRL: neither >= nor <= any bound, as in SQL.
TRL_NULL = np.iinfo(np.int64).min
DTYPES: dict[str, Any] = {
    "ids": np.int64,
    "alive": np.bool_,
    "organization": np.int64,
    "trl": np.int64,
    "transfer": np.uint32,
    **{name: np.int8 for name in ENUMS},
}
# Past this share of dead slots (deleted listings) the columns are compacted.
DEAD_SHARE = 0.5


class KindColumns:
    """One kind's facet columns, sorted by id; a deleted listing's slot stays, dead, until compacted."""

    def __init__(self, data: dict[str, np.ndarray]) -> None:
        self._reset(data)

    def _reset(self, data: dict[str, np.ndarray]) -> None:
        """Hold exactly these rows (a column per name but "alive", any order), all alive."""
        order = np.argsort(data["ids"], kind="stable")
        self.size = len(order)
        capacity = max(64, self.size)
        self.arrays = {name: np.zeros(capacity, dtype) for name, dtype in DTYPES.items()}
        for name, values in data.items():
            self.arrays[name][: self.size] = values[order]
        self.arrays["alive"][: self.size] = True

    def column(self, name: str) -> np.ndarray:
        return self.arrays[name][: self.size]

    def positions(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each of `ids` sits (clipped) and whether it is there at all."""
        held = self.column("ids")
        if not self.size:
            return np.zeros(len(ids), np.int64), np.zeros(len(ids), bool)
        at = np.minimum(np.searchsorted(held, ids), self.size - 1)
        return at, held[at] == ids

    def upsert(self, data: dict[str, np.ndarray]) -> None:
        """Write rows (a column per name, any order): in place when held, appended when new."""
        at, found = self.positions(data["ids"])
        for name, values in data.items():
            self.arrays[name][at[found]] = values[found]
        self.arrays["alive"][at[found]] = True
        new = {name: values[~found] for name, values in data.items()}
        if not len(new["ids"]):
            return
        order = np.argsort(new["ids"], kind="stable")
        new = {name: values[order] for name, values in new.items()}
        if self.size and new["ids"][0] < self.column("ids")[-1]:
            # An id below the highest held (transactions committing out of order): re-sort everything.
            merged = {
                name: np.concatenate([self.column(name), new.get(name, np.zeros(len(new["ids"]), dtype))])
                for name, dtype in DTYPES.items()
                if name != "alive"
            }
            alive = np.concatenate([self.column("alive"), np.ones(len(new["ids"]), bool)])
            self._reset({name: values[alive] for name, values in merged.items()})
            return
        end = self.size + len(new["ids"])
        if end > len(self.arrays["ids"]):
            capacity = max(end, 2 * len(self.arrays["ids"]))
            for name, array in self.arrays.items():
                grown = np.zeros(capacity, array.dtype)
                grown[: self.size] = array[: self.size]
                self.arrays[name] = grown
        for name, values in new.items():
            self.arrays[name][self.size : end] = values
        self.arrays["alive"][self.size : end] = True
        self.size = end

    def remove(self, ids: np.ndarray) -> None:
        """Mark deleted listings dead; compact once most slots are."""
        at, found = self.positions(ids)
        self.arrays["alive"][at[found]] = False
        alive = self.column("alive")
        if self.size >= 1024 and np.count_nonzero(alive) < (1 - DEAD_SHARE) * self.size:
            self._reset({name: self.column(name)[alive] for name in DTYPES if name != "alive"})

    def count(self, *, need: bool, filters: ListingFilters, viewer: Viewer) -> int:
        return int(np.count_nonzero(self.mask(need=need, filters=filters, viewer=viewer)))

    def matching_ids(self, *, need: bool, filters: ListingFilters, viewer: Viewer) -> np.ndarray:
        return self.column("ids")[self.mask(need=need, filters=filters, viewer=viewer)]

    def mask(self, *, need: bool, filters: ListingFilters, viewer: Viewer) -> np.ndarray:
        """`_visible_to` and `_filtered` of models/listings.py, as vector operations: the slots they keep."""
        mask = self.column("alive").copy()
        if not viewer.is_staff:
            public = self.column("status") == CODES["status"][ListingStatus.PUBLISHED]
            if need:
                public &= self.column("confidentiality") == CODES["confidentiality"][Confidentiality.PUBLIC]
            if viewer.organization_id is not None:
                public |= self.column("organization") == viewer.organization_id
            mask &= public
        trl = self.column("trl")
        if filters.trl_min is not None:
            mask &= (trl >= filters.trl_min) & (trl != TRL_NULL)
        if filters.trl_max is not None:
            mask &= (trl <= filters.trl_max) & (trl != TRL_NULL)
        for name, wanted in (
            ("sector", filters.sectors),
            ("ip_status", filters.ip_statuses if not need else ()),
            ("region", filters.regions),
            ("language", filters.languages),
            ("status", filters.statuses),
        ):
            if wanted:
                mask &= self._among(name, wanted)
        if filters.transfer_types:
            bits = sum(TRANSFER_BITS.get(str(value), 0) for value in set(filters.transfer_types))
            mask &= (self.column("transfer") & np.uint32(bits)) != 0
        if filters.organization_id is not None:
            mask &= self.column("organization") == filters.organization_id
        if filters.exclude_ids:
            at, found = self.positions(np.fromiter(filters.exclude_ids, np.int64))
            mask[at[found]] = False
        return mask

    def _among(self, name: str, values: Sequence[Any]) -> np.ndarray:
        codes = CODES[name]
        table = np.zeros(len(codes) + 1, bool)
        for value in values:
            if str(value) in codes:
                table[codes[str(value)]] = True
        return table[self.column(name)]


def _raw(column: Any) -> Any:
    # The stored string, without the Enum type's per-row conversion: 10^6 rows load in seconds.
    return type_coerce(column, String)


def _selected(model: type[Offer] | type[Need]) -> dict[str, Any]:
    columns = {
        "ids": model.id,
        "status": _raw(model.status),
        "organization": model.organization_id,
        "sector": _raw(model.sector),
        "trl": trl_column(model),
        "transfer": cast(model.transfer_types, Text),
        "region": _raw(model.region),
        "language": _raw(model.language),
    }
    if model is Need:
        columns["confidentiality"] = _raw(Need.confidentiality)
    else:
        columns["ip_status"] = _raw(Offer.ip_status)
    return columns


class _Masks(dict[str | None, int]):
    """Transfer-type bits by the JSON text of the list; the few distinct lists are parsed once each."""

    def __missing__(self, text: str | None) -> int:
        values = json.loads(text) if text is not None else None
        mask = 0
        for value in values if isinstance(values, list) else ():
            if isinstance(value, str):
                mask |= TRANSFER_BITS.get(value, 0)
        self[text] = mask
        return mask


class _Codes(dict[str | None, int]):
    """An enum's codes by stored value; unknown values (and NULL) get the code no filter names."""

    def __missing__(self, value: str | None) -> int:
        return len(self)


def _decode(model: type[Offer] | type[Need], rows: Sequence[Any]) -> dict[str, np.ndarray]:
    names = list(_selected(model))
    values = dict(zip(names, zip(*rows, strict=True), strict=True)) if rows else {n: () for n in names}
    # C-level map over dict lookups: decoding 10^5 rows takes a few tens of milliseconds.
    trl = values["trl"]
    data: dict[str, np.ndarray] = {
        "ids": np.fromiter(values["ids"], np.int64, len(rows)),
        "organization": np.fromiter(values["organization"], np.int64, len(rows)),
        "trl": np.fromiter(
            (TRL_NULL if t is None else t for t in trl) if None in trl else trl, np.int64, len(rows)
        ),
        "transfer": np.fromiter(map(_Masks().__getitem__, values["transfer"]), np.uint32, len(rows)),
    }
    for name, codes in CODES.items():
        unknown = len(codes)
        if name in values:
            data[name] = np.fromiter(map(_Codes(codes).__getitem__, values[name]), np.int8, len(rows))
        elif name == "confidentiality":  # offers are public once published
            data[name] = np.full(len(rows), codes[Confidentiality.PUBLIC], np.int8)
        else:  # needs have no IP status, and no filter on it applies to them
            data[name] = np.full(len(rows), unknown, np.int8)
    return data


class ListingFacets:
    """Both kinds' facet columns, loaded once and refreshed from the store as listings change; thread-safe."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory
        self._columns: dict[str, KindColumns] | None = None
        # Held while counting or refreshing: a count never sees half a refresh, and one that starts
        # after a change was announced waits for (or does) its re-read.
        self._lock = threading.Lock()
        # Only for the dirty sets: announcing a change never waits behind a refresh's query.
        self._dirty_lock = threading.Lock()
        self._dirty: dict[str, set[int]] = {kind: set() for kind in LISTING_MODELS}

    def load(self) -> float:
        """Read every listing's facets (one query per kind); the seconds it took."""
        started = time.perf_counter()
        columns = {kind: KindColumns(self._read(kind, None)) for kind in LISTING_MODELS}
        with self._lock:
            self._columns = columns
        took = time.perf_counter() - started
        log.info("listing facets: %s loaded in %.2f s", self.sizes(), took)
        return took

    def discard(self, changes: Iterable[tuple[str, int]]) -> None:
        """Mark changed listings for a re-read before the next count (a change-feed subscriber)."""
        with self._dirty_lock:
            for kind, listing_id in changes:
                if kind in self._dirty:
                    self._dirty[kind].add(int(listing_id))

    def count(self, *, model: type[Offer] | type[Need], filters: ListingFilters, viewer: Viewer) -> int:
        """How many listings of `model` match `filters` and are visible to `viewer`: exactly what
        `list_listings` counted in SQL, dirty listings re-read first."""
        with self._lock:
            return self._current(model).count(need=model is Need, filters=filters, viewer=viewer)

    def matching_ids(
        self, *, model: type[Offer] | type[Need], filters: ListingFilters, viewer: Viewer
    ) -> np.ndarray:
        """The ids `count` counts, sorted (int64): what `visible_ids` selects in SQL."""
        with self._lock:
            return self._current(model).matching_ids(need=model is Need, filters=filters, viewer=viewer)

    def sizes(self) -> dict[str, int]:
        """Live listings held per kind."""
        with self._lock:
            columns = self._columns or {}
            return {kind: int(np.count_nonzero(held.column("alive"))) for kind, held in columns.items()}

    def _current(self, model: type[Offer] | type[Need]) -> KindColumns:
        # Under self._lock: loaded on first use, dirty listings re-read.
        if self._columns is None:
            self._columns = {name: KindColumns(self._read(name, None)) for name in LISTING_MODELS}
        columns = self._columns[model.__tablename__]
        self._refresh(model.__tablename__, columns)
        return columns

    def _refresh(self, kind: str, columns: KindColumns) -> None:
        with self._dirty_lock:
            ids, self._dirty[kind] = self._dirty[kind], set()
        if not ids:
            return
        try:
            data = self._read(kind, ids)
        except BaseException:
            with self._dirty_lock:  # read again by the next count
                self._dirty[kind] |= ids
            raise
        columns.upsert(data)
        gone = ids - set(data["ids"].tolist())
        if gone:
            columns.remove(np.fromiter(gone, np.int64, len(gone)))

    def _read(self, kind: str, ids: Collection[int] | None) -> dict[str, np.ndarray]:
        # A session of its own: the caller's may hold a snapshot older than the change being read.
        model = LISTING_MODELS[kind]
        query = select(*_selected(model).values())
        if ids is not None:
            query = query.where(id_in(model.id, ids))
        with self.session_factory() as session:
            rows = session.execute(query).all()
        return _decode(model, rows)
