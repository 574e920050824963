import random

import numpy as np
import pytest

from indexes import id_table
from indexes.id_table import IdTable


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_writes_read_back_as_a_dict_would_across_merges(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    # A small threshold so that a few hundred writes cross many merges.
    monkeypatch.setattr(id_table, "MERGE_MIN", 8)
    rng = random.Random(seed)
    table, expected = IdTable(), {}
    for step in range(600):
        key = rng.randrange(200)
        action = rng.random()
        if action < 0.55:
            table[key] = expected[key] = rng.randrange(-(2**63), 2**63)
        elif action < 0.8:
            assert table.pop(key, None) == expected.pop(key, None)
        else:
            keys = rng.sample(range(200), 20)
            if step % 2:
                table.put(np.array(keys), np.array(keys) * 3)
                expected.update({k: 3 * k for k in keys})
            else:
                table.remove(keys)
                for k in keys:
                    expected.pop(k, None)
        assert len(table) == len(expected)
    assert table == expected
    assert table.ids().tolist() == sorted(expected)
    probe = np.arange(-5, 210)
    values, found = table.lookup(probe)
    assert found.tolist() == [k in expected for k in probe.tolist()]
    assert values[found].tolist() == [expected[k] for k in probe.tolist() if k in expected]
    assert all((k in table) == (k in expected) for k in range(-5, 210))


def test_put_many_merges_at_once_and_later_single_writes_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(id_table, "MERGE_MIN", 4)
    table = IdTable(np.array([5, 1, 9]), np.array([50, 10, 90]))
    table[1] = 11
    table.put(np.array([9, 2, 7, 3, 4]), np.array([99, 20, 70, 30, 40]))
    assert not table._changes  # many at once: merged, not kept aside
    del table[2]
    assert dict(table.items()) == {1: 11, 3: 30, 4: 40, 5: 50, 7: 70, 9: 99}
    ids, values = table.arrays()
    assert ids.tolist() == [1, 3, 4, 5, 7, 9] and values.tolist() == [11, 30, 40, 50, 70, 99]


def test_repeated_ids_and_missing_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="repeated"):
        IdTable(np.array([3, 3]), np.array([1, 2]))
    with pytest.raises(ValueError, match="2 ids for 1 values"):
        IdTable(np.array([3, 4]), np.array([1]))
    table = IdTable(np.array([3]), np.array([1]))
    with pytest.raises(KeyError):
        del table[4]
    with pytest.raises(KeyError):
        table[4]
    assert "3" not in table and np.int64(3) in table
