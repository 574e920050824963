"""A set of ids held as one sorted int64 array (a search scope from the listing facets).

A Python set of 10^5 ints costs milliseconds to build and to turn back into an array; this one is a
`Set[int]` to Python callers (`len`, `in` by binary search, iteration, truthiness, equality), and the
indexes take its array whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Set
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


class IdArray(Set[int]):
    """Sorted, unique ids; read-only."""

    __slots__ = ("array",)

    def __init__(self, ids: np.ndarray | Iterable[int]) -> None:
        array = (
            ids.astype(np.int64, copy=False).reshape(-1)
            if isinstance(ids, np.ndarray)
            else np.fromiter(ids, np.int64)
        )
        if len(array) > 1 and not np.all(array[1:] > array[:-1]):
            array = np.unique(array)
        elif array.flags.writeable:
            array = array.copy()  # the caller's array may change; this one may not
        array.flags.writeable = False
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    def __iter__(self) -> Iterator[int]:
        return iter(self.array.tolist())

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, int | np.integer):
            return False
        at = int(np.searchsorted(self.array, item))
        return at < len(self.array) and int(self.array[at]) == int(item)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, IdArray):
            return bool(np.array_equal(self.array, other.array))
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def _from_iterable(cls, values: Iterable[T]) -> set[T]:
        # What the Set operators (&, |, -) build: a plain set, as they take any iterable.
        return set(values)

    def contains(self, ids: np.ndarray) -> np.ndarray:
        """Whether each of `ids` is held, as a bool array."""
        if not len(self.array):
            return np.zeros(len(ids), bool)
        at = np.minimum(np.searchsorted(self.array, ids), len(self.array) - 1)
        return self.array[at] == ids

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self.array if dtype is None else self.array.astype(dtype)

    def __repr__(self) -> str:
        return f"IdArray({self.array.tolist()!r})" if len(self) <= 20 else f"IdArray(<{len(self)} ids>)"
