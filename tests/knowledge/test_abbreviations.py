"""The field's abbreviation map: whole-token, case-insensitive expansion appended to a query (issue 22)."""

from __future__ import annotations

import pytest

from gridsage.errors import InputError
from gridsage.knowledge.abbreviations import (expand_query, expansions, load_abbreviations,
                                              parse_abbreviations)
from gridsage.knowledge.corpus import load_corpus


def test_faa_thdv_and_onan_expand_to_the_terms_the_standards_use():
    # oracle: the terms as IEEE C57.91 cl. 5 (ageing acceleration factor), IEEE 519 cl. 5.1 (voltage THD) and
    # IEEE C57.91 cl. 7 / IEC 60076-7 (ONAN = oil natural, air natural cooling) spell them out
    faa = expand_query("FAA @ 140")
    assert faa.startswith("FAA @ 140 (") and "aging acceleration factor" in faa
    thdv = expand_query("THDv 230 kV")
    assert thdv.startswith("THDv 230 kV (") and "voltage total harmonic distortion" in thdv
    onan = expand_query("tau oil ONAN")
    assert onan.startswith("tau oil ONAN (") and "oil natural air natural" in onan and "time constant" in onan


def test_matching_is_by_whole_token_and_case_insensitive():
    assert "voltage total harmonic distortion" in expand_query("thdv at the pcc")
    assert "point of common coupling" in expand_query("thdv at the pcc")
    assert expand_query("FAAX and ONANS") == "FAAX and ONANS"  # no partial-token matches
    assert "customers experiencing multiple interruptions" in expand_query("CEMI4 def")  # trailing index number
    assert "customers experiencing long interruption durations" in expand_query("CELID12 feeder 7")
    assert "overfrequency trip setting" in expand_query("der of2 default")
    assert "planning event P7" in expand_query("P7 dbl ckt tower")


def test_keys_that_are_ordinary_words_match_only_as_written():
    assert expand_query("the top oil temperature") == "the top oil temperature"
    assert "transmission operations" in expand_query("TOP next-day OPA")
    assert "major event day" not in expand_query("CIP-002 med impact")
    assert "major event day" in expand_query("SAIDI w/o MED")


def test_expansion_is_appended_each_once_never_replacing_the_query():
    query = "THDv and THDV and thdv"
    found = expansions(query)
    assert len(found) == len(set(found)) == 1
    assert expand_query(query) == f"{query} ({found[0]})"
    assert expand_query("no shorthand here at all") == "no shorthand here at all"


def test_the_map_holds_field_terms_not_answers():
    """Expansions are words of the field, never corpus entry ids (no question-specific hints)."""
    ids = set(load_corpus())
    items = load_abbreviations()
    assert len(items) >= 100 and len({i.key.lower() for i in items if not i.match_case}) == \
        len([i for i in items if not i.match_case])
    for item in items:
        assert not any(entry_id in item.expansion for entry_id in ids), item.key


@pytest.mark.parametrize("data, field", [
    ([], "abbreviations"),
    ({"THDv": ""}, "abbreviations.THDv"),
    ({"TOP": {"expand": "transmission operations", "match_case": "yes"}}, "abbreviations.TOP"),
    ({"MED": {"match_case": True}}, "abbreviations.MED"),
])
def test_a_malformed_map_is_rejected_naming_the_key(data, field):
    with pytest.raises(InputError) as info:
        parse_abbreviations(data)
    assert info.value.field == field and info.value.fix
