"""The packaged vocabularies and the loader that reads them (``accord/vocab/loader.py``)."""

from __future__ import annotations

import re

import pytest

from accord.errors import Invalid
from accord.vocab.loader import NAMES, Vocabularies, Vocabulary, _parse, load


def test_every_vocabulary_loads_with_an_integer_version() -> None:
    vocab = load()
    assert isinstance(vocab, Vocabularies)
    versions = vocab.versions()
    assert set(versions) == set(NAMES)
    for name in NAMES:
        voc = getattr(vocab, name)
        assert isinstance(voc, Vocabulary) and voc.name == name
        assert type(voc.version) is int and voc.version >= 1, name
        assert versions[name] == voc.version
        assert voc.codes(), f"{name} has no current codes"
        for code, term in voc.terms.items():
            assert isinstance(code, str) and code == term.code
            assert isinstance(term.label, str) and term.label


def test_load_is_cached() -> None:
    assert load() is load()


def test_iso_3166_list_has_249_codes() -> None:
    assert len(load().jurisdictions.codes()) == 249


def test_jurisdiction_codes_are_all_two_upper_case_letters() -> None:
    # YAML 1.1 reads an unquoted ``NO:`` key as the boolean false ("the Norway problem").
    j = load().jurisdictions
    odd = [c for c in j.terms if not re.fullmatch(r"[A-Z]{2}", c)]
    assert odd == []
    for code in ("NO", "NA", "NU", "DE", "NL", "US"):
        assert code in j, code
        assert j.check(code, "/jurisdiction") == code


def test_check_returns_known_codes() -> None:
    vocab = load()
    assert vocab.categories.check("csam", "/incident_type") == "csam"
    assert vocab.markings.check("AMBER", "/marking") == "AMBER"
    assert vocab.sources.check("platform", "/source") == "platform"


@pytest.mark.parametrize("code", ["nope", "", "CSAM", " csam"])
def test_check_rejects_unknown_codes_with_the_pointer_as_key(code: str) -> None:
    with pytest.raises(Invalid) as info:
        load().categories.check(code, "/incident_type")
    assert list(info.value.errors) == ["/incident_type"]
    assert "categories" in info.value.errors["/incident_type"]
    assert info.value.status == 422


def test_check_keeps_nested_pointers() -> None:
    with pytest.raises(Invalid) as info:
        load().urgency.check("no-such-indicator", "/urgency/3")
    assert list(info.value.errors) == ["/urgency/3"]


def test_non_strings_are_never_members() -> None:
    voc = load().categories
    assert 1 not in voc and None not in voc and ["csam"] not in voc


RETIRING = """
version: 3
codes:
  kept: "Kept"
  old: {label: "Old", retired: true}
  weighted: {label: "Weighted", weight: 5}
"""


def test_retired_code_is_rejected() -> None:
    voc = _parse("demo", RETIRING)
    assert voc.name == "demo" and voc.version == 3
    assert "old" in voc.terms and voc.terms["old"].attrs == {"retired": True}
    assert "old" not in voc
    assert voc.codes() == ["kept", "weighted"]
    assert voc.check("kept", "/x") == "kept"
    with pytest.raises(Invalid) as info:
        voc.check("old", "/x")
    assert list(info.value.errors) == ["/x"]
    assert voc.terms["weighted"].attrs == {"weight": 5} and voc.terms["weighted"].label == "Weighted"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "- a\n- b\n",
        "just text",
        "codes: {a: A}\n",  # no version
        "version: '1'\ncodes: {a: A}\n",  # version as a string
        "version: 1.5\ncodes: {a: A}\n",
        "version: 1\n",  # no codes
        "version: 1\ncodes: [a, b]\n",  # codes as a list
        "version: 1\ncodes: {a: {weight: 3}}\n",  # a term without a label
        "version: 1\ncodes: {a: 5}\n",
        "version: 1\ncodes: {a: {label: 5}}\n",
        "version: 1\ncodes: {a: null}\n",
    ],
)
def test_malformed_documents_raise_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        _parse("demo", text)


def test_boolean_version_is_not_an_integer_version() -> None:
    # bool is a subclass of int in Python; ``version: true`` is a malformed document all the same
    with pytest.raises(ValueError):
        _parse("demo", "version: true\ncodes: {a: A}\n")


def test_non_string_code_keys_are_refused() -> None:
    # an unquoted ``NO:``/``ON:``/``1:`` key is not the code its author typed
    with pytest.raises(ValueError):
        _parse("demo", "version: 1\ncodes:\n  NO: Norway\n")


def test_urgent_terms_include_imminent_danger() -> None:
    urgency = load().urgency
    urgent = {c for c in urgency.codes() if urgency.terms[c].attrs.get("urgent") is True}
    assert "imminent-danger" in urgent
    assert urgency.terms["imminent-danger"].attrs["urgent"] is True
    assert "recent" not in urgent
    for code in urgency.codes():
        assert isinstance(urgency.terms[code].attrs.get("weight", 0), int)
