from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accord.errors import Invalid
from accord.graph.timeline import build_timeline, event_from


def test_utc_with_offsets_kept_and_clock_disagreement() -> None:
    events = [
        event_from({"at": "2025-03-01T12:00:00+02:00", "kind": "login", "source": "org-a", "keys": ["account:p/a"]}),
        event_from(
            {"at": "2025-03-01T09:30:00Z", "kind": "takedown", "source": "org-a", "keys": ["account:p/a"], "ref": "T-1"}
        ),
        event_from(
            {
                "at": "2025-03-01T05:42:00-04:00",
                "kind": "takedown",
                "source": "org-b",
                "keys": ["account:p/a"],
                "ref": "T-1",
            }
        ),
        event_from({"at": "2025-03-01T10:01:00Z", "kind": "login", "source": "org-b", "keys": ["account:p/a"]}),
        event_from({"at": "2025-03-01T10:00:00Z", "kind": "login", "source": "org-c", "keys": ["account:p/z"]}),
    ]
    tl = build_timeline(events, keys=["account:p/a"])
    assert [e.at for e in tl.events] == sorted(e.at for e in tl.events) and len(tl.events) == 4
    assert tl.events[0].at == datetime(2025, 3, 1, 9, 30, tzinfo=UTC) and tl.events[1].offset == "-04:00"
    assert [(d.kind, d.ref, d.spread) for d in tl.disagreements] == [("takedown", "T-1", timedelta(minutes=12))]
    # the two logins (same keys, 1 minute apart) agree within the 5-minute tolerance; not with 30 s
    strict = build_timeline(events, keys=["account:p/a"], tolerance=timedelta(seconds=30))
    assert {d.kind for d in strict.disagreements} == {"takedown", "login"}
    per_entity = build_timeline(events, subject="E", entity_of={"account:p/z": "E"})
    assert [e.source for e in per_entity.events] == ["org-c"]


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"at": "2025-03-01T10:00:00", "kind": "login", "source": "a"}, "/at"),
        ({"at": "yesterday", "kind": "login", "source": "a"}, "/at"),
        ({"at": "2025-03-01T10:00:00Z", "source": "a"}, "/kind"),
        ({"at": "2025-03-01T10:00:00Z", "kind": "login", "source": "a", "keys": "x"}, "/keys"),
    ],
)
def test_bad_events_are_named(raw: dict[str, object], field: str) -> None:
    with pytest.raises(Invalid) as err:
        event_from(raw, "events.ndjson:4")
    assert f"events.ndjson:4{field}" in err.value.errors
