"""The PDQ index returns exactly what a brute-force scan returns, persists without pickle, and refuses bad input."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.errors import Invalid
from accord.signals import brute
from accord.signals.pdq_index import FORMAT_VERSION, MAGIC, PdqIndex, from_hex, to_hex


def _flip(rng: np.random.Generator, seed: np.ndarray, k: int) -> np.ndarray:
    out = seed.copy()
    for bit in rng.choice(256, size=k, replace=False):
        out[bit // 8] ^= np.uint8(1 << (bit % 8))
    return out


def _families(rng: np.random.Generator, n: int, seeds: int, max_flip: int) -> np.ndarray:
    """Near-duplicate families: copies of a few seeds with up to max_flip random bits flipped."""
    roots = rng.integers(0, 256, (seeds, 32), dtype=np.uint8)
    if n == 0:
        return np.empty((0, 32), dtype=np.uint8)
    return np.stack([_flip(rng, roots[rng.integers(seeds)], int(rng.integers(0, max_flip + 1))) for _ in range(n)])


def _assert_same(index: PdqIndex, ids: np.ndarray, hashes: np.ndarray, queries: np.ndarray, t: int) -> None:
    expected = brute.within(queries, ids, hashes, t)
    for scan in (False, True):  # both paths, whichever search() would pick
        got = index._search(queries, t, scan)
        assert len(got) == len(expected)
        for (gi, gd), (ei, ed) in zip(got, expected, strict=True):
            assert gi.dtype == np.int64 and gd.dtype == np.int32
            np.testing.assert_array_equal(gi, ei)
            np.testing.assert_array_equal(gd, ed)
    for (gi, gd), (ei, ed) in zip(index.search(queries, t), expected, strict=True):
        np.testing.assert_array_equal(gi, ei)
        np.testing.assert_array_equal(gd, ed)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 400),
    clustered=st.booleans(),
    threshold=st.one_of(st.integers(0, 256), st.sampled_from([0, 15, 16, 31, 32, 47, 48, 63, 64, 255, 256])),
    steps=st.lists(st.sampled_from(["add", "remove", "readd"]), max_size=4),
)
def test_search_equals_brute_force(seed: int, n: int, clustered: bool, threshold: int, steps: list[str]) -> None:
    rng = np.random.default_rng(seed)
    hashes = _families(rng, n, 4, 40) if clustered else rng.integers(0, 256, (n, 32), dtype=np.uint8)
    ids = rng.permutation(np.arange(-(n // 2), n - n // 2, dtype=np.int64) * 3)
    index = PdqIndex()
    index.add(ids, hashes)
    live = dict(zip(ids.tolist(), hashes, strict=True))
    for step in steps:
        if step == "add":
            new_ids = rng.integers(-(2**62), 2**62, 20, dtype=np.int64)
            new_ids = np.unique(new_ids)
            extra = _families(rng, len(new_ids), 2, 20)
            index.add(new_ids, extra)
            live.update(zip(new_ids.tolist(), extra, strict=True))
        elif step == "remove" and live:
            gone = rng.choice(np.array(list(live), dtype=np.int64), size=min(len(live), 30), replace=False)
            unknown = np.array([2**62 + 1], dtype=np.int64)
            assert index.remove(np.concatenate([gone, unknown])) == len(gone)
            for i in gone.tolist():
                del live[i]
        elif step == "readd" and live:  # replace: same ids, new hashes
            again = np.array(list(live)[:25], dtype=np.int64)
            fresh = rng.integers(0, 256, (len(again), 32), dtype=np.uint8)
            index.add(again, fresh)
            live.update(zip(again.tolist(), fresh, strict=True))
    assert len(index) == len(live)
    live_ids = np.array(list(live), dtype=np.int64)
    live_hashes = np.stack(list(live.values())) if live else np.empty((0, 32), dtype=np.uint8)
    near = [_flip(rng, h, int(rng.integers(0, 40))) for h in live_hashes[:6]]
    queries = np.stack([*near, *rng.integers(0, 256, (3, 32), dtype=np.uint8)])
    _assert_same(index, live_ids, live_hashes, queries, threshold)


def test_large_clustered_index_at_the_default_threshold() -> None:
    """Enough hashes that search() probes rather than scans, with dense near-duplicate families."""
    rng = np.random.default_rng(7)
    hashes = np.concatenate([_families(rng, 6000, 30, 45), rng.integers(0, 256, (6000, 32), dtype=np.uint8)])
    ids = np.arange(len(hashes), dtype=np.int64)
    index = PdqIndex()
    index.add(ids, hashes)
    assert not index.uses_scan(31) and index.uses_scan(48)
    queries = np.stack([_flip(rng, h, 12) for h in hashes[::400]])
    _assert_same(index, ids, hashes, queries, 31)
    total = sum(len(i) for i, _ in index.search(queries, 31))
    assert total > len(queries) * 10  # families: many matches per query, each reported once


def test_single_adds_and_removes_keep_exact() -> None:
    rng = np.random.default_rng(3)
    hashes = _families(rng, 300, 3, 30)
    index = PdqIndex()
    for i, h in enumerate(hashes):
        index.add([i], h[None])
    for i in range(0, 300, 3):
        assert index.remove([i]) == 1
    assert index.remove([0]) == 0
    keep = np.array([i for i in range(300) if i % 3], dtype=np.int64)
    _assert_same(index, keep, hashes[keep], hashes[:5], 40)


def test_empty_index_returns_empty_results() -> None:
    index = PdqIndex()
    q = np.zeros((2, 32), dtype=np.uint8)
    for t in (0, 31, 256):
        result = index.search(q, t)
        assert [(len(i), len(d)) for i, d in result] == [(0, 0), (0, 0)]
    assert index.search(np.empty((0, 32), dtype=np.uint8), 31) == []
    assert index.remove([1, 2]) == 0


def test_hex_round_trip() -> None:
    hexes = ["f" * 64, "0123456789abcdef" * 4]
    arr = from_hex(hexes)
    assert arr.shape == (2, 32) and arr.dtype == np.uint8
    assert to_hex(arr) == hexes
    assert to_hex(from_hex(["ABCDEF" + "0" * 58])) == ["abcdef" + "0" * 58]


@pytest.mark.parametrize("bad", ["f" * 63, "f" * 65, "g" * 64, "", " " + "f" * 63, None])
def test_from_hex_names_the_bad_hash(bad: object) -> None:
    with pytest.raises(Invalid) as err:
        from_hex(["0" * 64, bad])  # type: ignore[list-item]
    assert "/1" in err.value.errors


def test_bad_thresholds_shapes_and_dtypes() -> None:
    index = PdqIndex()
    index.add([1], np.zeros((1, 32), dtype=np.uint8))
    q = np.zeros((1, 32), dtype=np.uint8)
    for t in (-1, 257, 3.5, True, "31"):
        with pytest.raises(Invalid):
            index.search(q, t)  # type: ignore[arg-type]
    for queries in (np.zeros((1, 31), np.uint8), np.zeros(32, np.uint8), np.zeros((1, 32), np.int64), [[0] * 32]):
        with pytest.raises(Invalid):
            index.search(queries, 31)  # type: ignore[arg-type]
    with pytest.raises(Invalid):
        index.add([1, 2], np.zeros((1, 32), dtype=np.uint8))
    with pytest.raises(Invalid):
        index.add([[1]], np.zeros((1, 32), dtype=np.uint8))
    with pytest.raises(Invalid):
        index.add([1.5], np.zeros((1, 32), dtype=np.uint8))
    with pytest.raises(Invalid) as err:
        index.add([5, 6, 5], np.ones((3, 32), dtype=np.uint8))
    assert "/ids/2" in err.value.errors
    with pytest.raises(Invalid):
        index.remove(["a"])
    assert len(index) == 1  # nothing half-written
    assert index.search(q, 0)[0][0].tolist() == [1]


def _saved(tmp_path: Path, n: int = 500) -> tuple[Path, PdqIndex]:
    rng = np.random.default_rng(5)
    index = PdqIndex()
    index.add(np.arange(n, dtype=np.int64) * 11, rng.integers(0, 256, (n, 32), dtype=np.uint8))
    index.remove([0, 11])
    path = tmp_path / "bank.pdqix"
    index.save(path)
    return path, index


def test_save_load_round_trip(tmp_path: Path) -> None:
    path, index = _saved(tmp_path)
    loaded = PdqIndex.load(path)
    assert len(loaded) == len(index) == 498
    ids, hashes = index.entries()
    got_ids, got_hashes = loaded.entries()
    order, got_order = np.argsort(ids), np.argsort(got_ids)
    np.testing.assert_array_equal(ids[order], got_ids[got_order])
    np.testing.assert_array_equal(hashes[order], got_hashes[got_order])
    queries = hashes[:10]
    for (a, b), (c, d) in zip(index.search(queries, 60), loaded.search(queries, 60), strict=True):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    assert path.read_bytes()[:8] == MAGIC
    assert b"pickle" not in path.read_bytes() and path.read_bytes()[:1] != b"\x80"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left
    empty = tmp_path / "empty.pdqix"
    PdqIndex().save(empty)
    assert len(PdqIndex.load(empty)) == 0


def test_load_refuses_damaged_files(tmp_path: Path) -> None:
    path, _ = _saved(tmp_path)
    good = path.read_bytes()
    damaged = {
        "truncated": good[:-7],
        "short header": good[:20],
        "wrong magic": b"NOTANIDX" + good[8:],
        "future version": good[:8] + struct.pack("<I", FORMAT_VERSION + 1) + good[12:],
        "flipped bit": good[:100] + bytes([good[100] ^ 1]) + good[101:],
        "empty": b"",
    }
    messages = {}
    for name, data in damaged.items():
        path.write_bytes(data)
        with pytest.raises(Invalid) as err:
            PdqIndex.load(path)
        messages[name] = err.value.detail
    assert "truncated" in messages["truncated"]
    assert "version 2" in messages["future version"]
    assert "checksum" in messages["flipped bit"]
    assert "not an Accord PDQ index" in messages["wrong magic"]
