"""vPDQ frame lists: every layout platforms send parses, faults name their line, matching agrees with
ThreatExchange's brute-force matcher, and a generated benign video hashes and matches itself."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from threatexchange.extensions.vpdq.vpdq_brute_matcher import match_VPDQ_hash_brute
from threatexchange.extensions.vpdq.vpdq_util import VpdqCompactFeature

from accord.errors import Invalid
from accord.signals.vpdq import VpdqFrame, VpdqMatch, format_frames, match_frames, parse_frames, vpdq_video

H1, H2, H3 = "a" * 64, "0" * 63 + "f", "f" * 64
FRAMES = [VpdqFrame(0, H1, 100, 0.0), VpdqFrame(1, H2, 90, 1.0), VpdqFrame(2, H3, 40, 2.0)]


def test_the_vpdq_file_layout_round_trips() -> None:
    assert parse_frames(format_frames(FRAMES)) == FRAMES


def test_other_layouts() -> None:
    readme = "".join(f"{f.frame_number},{f.pdq_hex},{f.quality},{f.timestamp}\n" for f in FRAMES)
    compact = "".join(f"{f.pdq_hex},{f.quality},{f.timestamp:.3f}\n" for f in FRAMES)
    strings = json.dumps([f"{f.pdq_hex},{f.quality},{f.timestamp}" for f in FRAMES])
    objects = json.dumps([{"pdq_hex": f.pdq_hex, "quality": f.quality, "timestamp": f.timestamp} for f in FRAMES])
    hashes = json.dumps([{"frame_number": f.frame_number, "hash": f.pdq_hex.upper(), "quality": str(f.quality),
                          "timestamp": f.timestamp} for f in FRAMES])  # fmt: skip
    for text in (readme, compact, strings, objects, hashes, "# comment\n\n" + compact):
        assert parse_frames(text) == FRAMES


@pytest.mark.parametrize(
    ("text", "pointer", "words"),
    [
        (f"0,100,{H1},0.0\n1,{H2}\n", "/frames/line/2", "line 2: expected 3 or 4 comma-separated fields, got 2"),
        (f"0,100,{H1},0.0\n1,100,{H2}\n", "/frames/line/2", "line 2: a PDQ hash is 64 hex characters, got 1"),
        (f"0,100,{H1},0.0\n\n1,100,{H2[:-1]}g,1\n", "/frames/line/3", "line 3: a PDQ hash is hex only"),
        (f"0,100,{H1[:-2]},0.0\n", "/frames/line/1", "64 hex characters, got 62"),
        (f"0,101,{H1},0.0\n", "/frames/line/1", "quality is 0..100, got 101"),
        (f"x,100,{H1},0.0\n", "/frames/line/1", "frame number must be an integer"),
        (f"0,100,{H1},soon\n", "/frames/line/1", "timestamp must be a number"),
        (f"0,100,{H1},-1\n", "/frames/line/1", "0 or more"),
        (f"0,100,{H1},nan\n", "/frames/line/1", "finite"),
        ("", "/frames", "empty frame list"),
        ("# only a comment\n", "/frames", "no frames"),
        ("[]", "/frames", "no frames"),
        ('{"a": 1}', "/frames", "must be an array"),
        ("[1, 2", "/frames", "not valid JSON"),
        (json.dumps([f"{H1},100,0", 5]), "/frames/1", "item 1: a frame is a string or an object"),
        (json.dumps([{"hash": H1, "quality": True, "timestamp": 0}]), "/frames/0", "quality must be an integer"),
        (json.dumps([{"quality": 1, "timestamp": 0}]), "/frames/0", "PDQ hash must be a string"),
    ],
)
def test_faults_name_the_line(text: str, pointer: str, words: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_frames(text)
    assert list(caught.value.errors) == [pointer]
    assert words in caught.value.errors[pointer]


def test_a_list_matches_itself_fully() -> None:
    assert match_frames(FRAMES, FRAMES) == VpdqMatch(100.0, 100.0)
    assert match_frames(FRAMES, FRAMES, quality_tolerance=0) == VpdqMatch(100.0, 100.0)


def _random_frames(rng: np.random.Generator, n: int, base: list[str] | None = None) -> list[VpdqFrame]:
    frames = []
    for i in range(n):
        if base and rng.random() < 0.6:
            bits = int(base[int(rng.integers(len(base)))], 16) ^ sum(1 << int(b) for b in rng.choice(256, 20))
            hex_ = f"{bits:064x}"
        else:
            hex_ = rng.bytes(32).hex()
        frames.append(VpdqFrame(i, hex_, int(rng.integers(30, 101)), float(i)))
    return frames


@pytest.mark.parametrize("seed", range(5))
def test_matching_agrees_with_threatexchange(seed: int) -> None:
    rng = np.random.default_rng(seed)
    query = _random_frames(rng, 40)
    compared = _random_frames(rng, 60, [f.pdq_hex for f in query]) + query[:3]
    for distance in (10, 31, 60):
        ours = match_frames(query, compared, distance_tolerance=distance, quality_tolerance=50)
        theirs = match_VPDQ_hash_brute(
            [VpdqCompactFeature(f.pdq_hex, f.quality, f.timestamp) for f in query],
            [VpdqCompactFeature(f.pdq_hex, f.quality, f.timestamp) for f in compared],
            50,
            distance,
        )
        assert ours.query_match_percent == pytest.approx(theirs.query_match_percent)
        assert ours.compared_match_percent == pytest.approx(theirs.compared_match_percent)
        assert 0 < ours.compared_match_percent < 100


def test_no_frame_passing_the_quality_filter_matches_nothing() -> None:
    low = [VpdqFrame(0, H1, 10, 0.0)]
    assert match_frames(low, low) == match_frames(low, FRAMES)
    assert match_frames(low, low).query_match_percent == 0.0


def test_distance_tolerance_is_checked() -> None:
    with pytest.raises(Invalid, match=r"0\.\.256"):
        match_frames(FRAMES, FRAMES, distance_tolerance=257)


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four seconds of FFmpeg's test pattern (colour bars, a counter, a moving gradient): benign by design."""
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg, "ffmpeg is installed by scripts/ensure-system-packages.sh (make install)"
    path = tmp_path_factory.mktemp("video") / "testsrc.mp4"
    subprocess.run(
        [ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc=duration=4:size=320x240:rate=10",
         "-pix_fmt", "yuv420p", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    return path


def test_a_generated_video_hashes_and_matches_itself(video: Path, tmp_path: Path) -> None:
    frames = vpdq_video(video, seconds_per_hash=0)
    assert len(frames) == 40
    assert [f.frame_number for f in frames] == list(range(40))
    assert frames[10].timestamp == pytest.approx(1.0, abs=0.01)
    assert parse_frames(format_frames(frames)) == [
        VpdqFrame(f.frame_number, f.pdq_hex, f.quality, round(f.timestamp, 3)) for f in frames
    ]
    assert match_frames(frames, frames) == VpdqMatch(100.0, 100.0)
    # the same video encoded again at a lower quality still matches frame for frame
    small = tmp_path / "again.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(video), "-crf", "30", str(small)],
        check=True,
        timeout=60,
    )
    result = match_frames(vpdq_video(small, seconds_per_hash=0), frames)
    assert result == VpdqMatch(100.0, 100.0)
    # and another pattern does not
    assert match_frames(frames, FRAMES) == VpdqMatch(0.0, 0.0)


def test_a_file_that_is_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("not a video")
    with pytest.raises(Invalid, match="not a readable video"):
        vpdq_video(path)
    with pytest.raises(Invalid, match="no such file"):
        vpdq_video(tmp_path / "missing.mp4")
