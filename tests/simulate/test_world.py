from __future__ import annotations

import pytest

from accord.simulate import build_world


def _respelt(noise: float) -> float:
    """Share of people's accounts whose handle is not their base handle."""
    world = build_world(3, 3000, noise=noise)
    accounts = [(p.handle, a.ident["value"]) for p in world.people for a in p.accounts.values()]
    return sum(1 for base, value in accounts if value != base) / len(accounts)


def test_noise_level_scales_respelling() -> None:
    low, default, high = _respelt(0.5), _respelt(1.0), _respelt(2.0)
    assert low < default < high


def test_noise_level_outside_range_is_refused() -> None:
    with pytest.raises(ValueError, match="noise"):
        build_world(3, 100, noise=3.0)
