"""POST /v1/match with an uploaded image (multipart) and with vPDQ frame lists: hashed and matched like
hashes, bad images refused with problem+json and nothing recorded; vPDQ banks compared as ThreatExchange's
brute-force vPDQ match does."""

from __future__ import annotations

import io
import random
from typing import Any

import numpy as np
import sqlalchemy as sa
from fastapi.testclient import TestClient
from PIL import Image

from accord.model.organisation import Role
from accord.signals.pdq import pdq_image
from accord.signals.vpdq import VpdqFrame, format_frames, match_frames
from accord.store import schema
from tests.api.test_banks_api import ok, org
from tests.conftest import World
from tests.signals.test_images import _png_declaring


def gradient_png(seed: int) -> bytes:
    """A benign picture: a colour gradient under a few soft discs."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:128, 0:128].astype(np.float64)
    img = np.stack([x * 2, y * 2, (x + y)], axis=2)
    for _ in range(4):
        cx, cy, r = rng.uniform(0, 128, 3)
        img[(x - cx) ** 2 + (y - cy) ** 2 < (r / 2) ** 2] = rng.uniform(0, 255, 3)
    buf = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def test_an_uploaded_image_matches_like_its_hashes(client: TestClient, world: World) -> None:
    a = org(world, "A")
    h = a[Role.analyst]
    picture, other = gradient_png(1), gradient_png(2)
    pdq = pdq_image(picture).hex
    bank = ok(client.post("/v1/banks", json={"name": "images", "type": "pdq"}, headers=h), 201)
    entry = ok(client.post(f"/v1/banks/{bank['id']}/entries", json={"entries": [{"value": pdq}]}, headers=h))
    entry_id = entry["added"][0]["id"]

    out = ok(client.post("/v1/match", files={"image": ("p.png", picture, "image/png")}, headers=h))
    assert out["image"]["pdq"] == pdq and out["image"]["quality"] >= 50
    assert [r["hash"] for r in out["results"]] == [
        f"pdq:{pdq}",
        f"md5:{out['image']['md5']}",
        f"sha256:{out['image']['sha256']}",
    ]
    assert out["results"][0]["matches"] == [
        {"bank": bank["id"], "entry": entry_id, "type": "pdq", "distance": 0, "threshold": 31, "bank_version": 2}
    ]
    # a re-encoded copy (JPEG) matches within the threshold; an unrelated picture does not
    jpeg = io.BytesIO()
    Image.open(io.BytesIO(picture)).save(jpeg, "JPEG", quality=70)
    near = ok(client.post("/v1/match", files={"image": ("p.jpg", jpeg.getvalue(), "image/jpeg")}, headers=h))
    assert [m["entry"] for m in near["results"][0]["matches"]] == [entry_id]
    assert 0 < near["results"][0]["matches"][0]["distance"] <= 31
    far = ok(client.post("/v1/match", files={"image": ("o.png", other, "image/png")}, headers=h))
    assert far["results"][0]["matches"] == []
    # naming banks in the form limits the search (an unknown bank: 404, as in the JSON form)
    named = client.post(
        "/v1/match", files={"image": ("p.png", picture, "image/png")}, data={"banks": ["bnk_nope"]}, headers=h
    )
    assert named.status_code == 404


def test_bad_uploads_are_refused(client: TestClient, world: World) -> None:
    a = org(world, "A")
    h = a[Role.analyst]
    with world.node.db.read() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(schema.audit_events)).scalar_one()
    cases: list[tuple[Any, str]] = [
        ({"image": ("a.txt", b"plain text, not a picture", "text/plain")}, "not an image"),
        ({"image": ("bomb.png", _png_declaring(20_000, 20_000), "image/png")}, "decompression bomb"),
        ({"picture": ("p.png", gradient_png(3), "image/png")}, "form field 'image'"),
    ]
    for files, words in cases:
        r = client.post("/v1/match", files=files, headers=h)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json" and words in r.json()["detail"], r.text
        assert "/image" in r.json()["detail"]
    with world.node.db.read() as conn:
        # refused before any match ran: no match.run event
        t = schema.audit_events.c
        assert conn.execute(sa.select(sa.func.count()).where(t.action == "match.run")).scalar_one() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.audit_events)).scalar_one() == before
    assert (
        client.post(
            "/v1/match", files={"image": ("p.png", gradient_png(3), "image/png")}, headers=a[Role.auditor]
        ).status_code
        == 403
    )


def _hex(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def _near(h: str, bits: int, rng: random.Random) -> str:
    n = int(h, 16)
    for b in rng.sample(range(256), bits):
        n ^= 1 << b
    return f"{n:064x}"


def _video(hexes: list[str], rng: random.Random) -> list[VpdqFrame]:
    return [VpdqFrame(i, x, rng.choice([30, 60, 90, 100]), float(i)) for i, x in enumerate(hexes)]


def test_vpdq_bank_matches_frame_lists_exactly(client: TestClient, world: World) -> None:
    """A vPDQ bank's answer equals ThreatExchange's brute-force comparison of the query with every entry,
    with the bank's percentages and quality filter (the frame index only narrows the candidates)."""
    a = org(world, "A")
    h = a[Role.analyst]
    rng = random.Random(5)
    body = {"name": "videos", "type": "vpdq", "query_match_percent": 50, "compared_match_percent": 10}
    bank = ok(client.post("/v1/banks", json=body, headers=h), 201)
    assert (bank["threshold"], bank["frame_quality"], bank["query_match_percent"]) == (31, 50, 50.0)
    videos = [_video([_hex(rng) for _ in range(rng.randrange(3, 12))], rng) for _ in range(8)]
    texts = [format_frames(v) for v in videos]
    added = ok(
        client.post(f"/v1/banks/{bank['id']}/entries", json={"entries": [{"value": t} for t in texts]}, headers=h)
    )
    ids = [e["id"] for e in added["added"]]
    assert [e["frames"] for e in added["added"]] == [len(v) for v in videos]
    # a pdq-only field on a vpdq bank and a vpdq field on a pdq bank are refused
    bad = {"name": "x", "type": "pdq", "frame_quality": 10}
    assert client.post("/v1/banks", json=bad, headers=h).status_code == 422

    # queries: clips of entries with noise, mixtures of two, and unrelated videos
    queries = []
    for v in videos[:5]:
        clip = [_near(f.pdq_hex, rng.randrange(0, 40), rng) for f in v[: rng.randrange(2, len(v) + 1)]]
        queries.append(_video(clip + [_hex(rng) for _ in range(rng.randrange(0, 3))], rng))
    queries.append(_video([f.pdq_hex for f in videos[5]] + [f.pdq_hex for f in videos[6]], rng))
    queries += [_video([_hex(rng) for _ in range(5)], rng) for _ in range(2)]
    out = ok(client.post("/v1/match", json={"videos": [format_frames(q) for q in queries]}, headers=h))
    assert out["results"] == [] and len(out["videos"]) == len(queries)
    found_any = 0
    for q, got in zip(queries, out["videos"], strict=True):
        expected = set()
        for entry_id, v in zip(ids, videos, strict=True):
            m = match_frames(q, v, distance_tolerance=31, quality_tolerance=50)
            if m.query_match_percent > 0 and m.query_match_percent >= 50 and m.compared_match_percent >= 10:
                expected.add((entry_id, round(m.query_match_percent, 6), round(m.compared_match_percent, 6)))
        seen = {
            (x["entry"], round(x["query_match_percent"], 6), round(x["compared_match_percent"], 6))
            for x in got["matches"]
        }
        assert seen == expected, (q, got)
        found_any += len(seen)
    assert found_any >= 3

    # the same video in another layout is the same entry (already present), and a malformed one refuses all
    compact = "\n".join(f"{f.pdq_hex},{f.quality},{f.timestamp}" for f in videos[0])
    again = ok(client.post(f"/v1/banks/{bank['id']}/entries", json={"entries": [{"value": compact}]}, headers=h))
    assert again["already_present"] == 1
    r = client.post("/v1/match", json={"videos": [texts[0], "0,100,zz,0.0"]}, headers=h)
    assert r.status_code == 422 and "/videos/1" in r.text
    # removing an entry: it stops matching (the frame index catches up)
    ok(client.delete(f"/v1/banks/{bank['id']}/entries/{ids[0]}", headers=h))
    exact = ok(client.post("/v1/match", json={"videos": [texts[0]]}, headers=h))["videos"][0]["matches"]
    assert ids[0] not in [m["entry"] for m in exact]
