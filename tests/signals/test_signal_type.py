"""The signal-type contract, run for every registered type (built-in or a plugin's), and the startup check
that refuses two types with one name."""

from __future__ import annotations

import pluggy
import pytest

from accord import plugins
from accord.errors import Invalid
from accord.plugins.hookspecs import SignalSpec, hookimpl
from accord.signals.signal_type import Matching, SignalType
from accord.signals.signal_types.md5 import Md5


class SignalTypeContract:
    """Mix into a test class with a ``kind`` fixture to check one signal type against the contract."""

    def test_name_is_a_stable_key(self, kind: type[SignalType]) -> None:
        name = kind.get_name()
        assert name and name == name.lower() and name.isidentifier()
        assert plugins.signal_types()[name] is kind

    def test_examples_validate_to_a_fixed_point(self, kind: type[SignalType]) -> None:
        examples = kind.get_examples()
        assert examples
        for e in examples:
            canonical = kind.validate(e)
            assert kind.validate(canonical) == canonical  # canonical forms are canonical
            assert canonical in kind.lookup_keys(canonical)  # an entry matches its own value

    def test_invalid_examples_are_refused_with_a_pointer(self, kind: type[SignalType]) -> None:
        for bad in kind.get_invalid_examples():
            with pytest.raises(Invalid) as caught:
                kind.validate(bad)
            assert list(caught.value.errors) == [""], bad

    def test_matching_kind_and_threshold_range(self, kind: type[SignalType]) -> None:
        assert (kind.matching is not Matching.exact) == (kind.max_distance > 0)


@pytest.fixture(params=sorted(plugins.signal_types()))
def kind(request: pytest.FixtureRequest) -> type[SignalType]:
    return plugins.signal_types()[request.param]


class TestEveryRegisteredType(SignalTypeContract):
    pass


def test_builtins_are_registered() -> None:
    assert {"md5", "sha256", "pdq", "url"} <= set(plugins.signal_types())


class _Clash:
    class Other(Md5):
        pass

    @staticmethod
    @hookimpl
    def accord_signal_types() -> list[type[SignalType]]:
        return [_Clash.Other]


def test_a_name_claimed_twice_is_refused() -> None:
    pm = pluggy.PluginManager("accord")
    pm.add_hookspecs(SignalSpec)
    pm.register(plugins.manager().get_plugin("accord.signals.signal_types.md5"), "md5")
    pm.register(_Clash, "clash")
    with pytest.raises(ValueError, match="'md5' is registered twice"):
        plugins.collect_signal_types(pm)


def test_unknown_type_names_the_field() -> None:
    with pytest.raises(Invalid) as caught:
        plugins.signal_type("sha1")
    assert list(caught.value.errors) == ["/type"]
