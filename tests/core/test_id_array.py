"""IdArray: a sorted id array that behaves as a set of ints wherever a search scope goes."""

from __future__ import annotations

import numpy as np
import pytest

from core.id_array import IdArray


def test_it_is_the_set_of_its_ids() -> None:
    ids = IdArray(np.array([9, 2, 5, 2], np.int32))
    assert ids.array.tolist() == [2, 5, 9] and ids.array.dtype == np.int64
    assert len(ids) == 3 and list(ids) == [2, 5, 9] and all(type(i) is int for i in ids)
    assert 5 in ids and np.int64(9) in ids and 4 not in ids and 10 not in ids and "5" not in ids
    assert ids == {2, 5, 9} and {2, 5, 9} == ids and ids != {2, 5} and ids == IdArray([5, 9, 2])
    assert ids & {5, 7} == {5} and ids - {2} == {5, 9} and ids | {1} == {1, 2, 5, 9}
    assert ids.contains(np.array([1, 2, 9, 10])).tolist() == [False, True, True, False]
    assert np.asarray(ids) is ids.array


def test_empty_is_falsy_and_holds_nothing() -> None:
    empty = IdArray(np.empty(0, np.int64))
    assert not empty and len(empty) == 0 and 1 not in empty and empty == set()
    assert empty.contains(np.array([1, 2])).tolist() == [False, False]
    assert IdArray({3, 1}) and IdArray(iter([3, 1])).array.tolist() == [1, 3]


def test_it_is_read_only_and_apart_from_the_callers_array() -> None:
    given = np.array([1, 2, 3], np.int64)
    ids = IdArray(given)
    given[0] = 7
    assert list(ids) == [1, 2, 3]
    with pytest.raises(ValueError):
        ids.array[0] = 4
    with pytest.raises(TypeError):
        hash(ids)
