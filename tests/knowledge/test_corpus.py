"""The standards corpus: shape and coverage, malformed entries, and limits read from it."""

from __future__ import annotations

import shutil

import pytest

from gridsage.errors import CorpusError, UnknownEntryError
from gridsage.knowledge.corpus import CORPUS_DIR, content_hash, get_entry, load_corpus, parse_entry
from gridsage.knowledge.limits import THERMAL_ENTRY, VOLTAGE_ENTRY, thermal_limit, voltage_band

TOPICS = {"voltage", "thermal", "transformer", "dga", "reliability", "planning", "frequency", "der", "power-quality",
          "cyber", "attack-ics", "operations"}

GOOD = """---
id: {id}
title: A test entry about feeder voltage
standard: TEST 1
edition: "2026"
clause: Clause 1
tags: [voltage, test]
figures:
  vm_pu_min: 0.9
---
This entry exists only for tests. It says the feeder voltage must stay above 0.9 pu.
"""


def test_the_shipped_corpus_has_80_entries_across_every_topic():
    corpus = load_corpus()
    assert len(corpus) >= 80
    by_topic = {}
    for entry in corpus.values():
        by_topic.setdefault(entry.path.split("/")[0], []).append(entry.id)
    assert set(by_topic) == TOPICS
    assert all(len(ids) >= 3 for ids in by_topic.values()), {t: len(i) for t, i in by_topic.items()}
    assert all(40 <= len(e.body) and e.standard and e.clause and e.edition for e in corpus.values())


@pytest.mark.parametrize("text, field, words", [
    (GOOD.replace("title: A test entry about feeder voltage\n", ""), "title", "Field required"),
    (GOOD.replace("edition: \"2026\"", "edition: [1, 2]"), "edition", "valid string"),
    (GOOD.replace("  vm_pu_min: 0.9", "  Vm Min: 0.9"), "figures.Vm Min", "pattern"),
    (GOOD.replace("tags: [voltage, test]", "tags: []"), "tags", "at least 1"),
    (GOOD.replace("title: A test", "title: [A test"), "front matter", "not valid YAML"),
    (GOOD.split("---\nThis")[0] + "---\nshort", "body", "at least 40"),
    (GOOD.replace("---\n", "", 1).replace("---\n", ""), "front matter", "no YAML front matter"),
    (GOOD.replace("clause: Clause 1", "clause: Clause 1\nchecked: 2999-01-01"), "checked", "in the future"),
    (GOOD.replace("clause: Clause 1", "clause: Clause 1\nchecked: last week"), "checked", "valid date"),
])
def test_a_malformed_entry_names_its_file_and_field(tmp_path, text, field, words):
    path = tmp_path / "voltage" / "test-entry.md"
    path.parent.mkdir()
    path.write_text(text.format(id="test-entry"))
    with pytest.raises(CorpusError) as info:
        load_corpus(tmp_path)
    assert info.value.field == f"voltage/test-entry.md: {field}" and words in info.value.message
    assert info.value.fix


def test_every_shipped_entry_records_when_it_was_checked_and_a_user_entry_may_not(tmp_path):
    import datetime as dt

    dates = {e.id: e.checked for e in load_corpus().values()}
    assert all(isinstance(d, dt.date) and dt.date(2026, 11, 1) <= d <= dt.date.today() for d in dates.values()), \
        [i for i, d in dates.items() if d is None]
    (tmp_path / "voltage").mkdir()
    (tmp_path / "voltage" / "own-entry.md").write_text(GOOD.format(id="own-entry"))
    assert load_corpus(tmp_path)["own-entry"].checked is None


def test_an_id_must_match_its_file_and_be_unique(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.md").write_text(GOOD.format(id="two"))
    with pytest.raises(CorpusError, match="differs from the file name") as info:
        load_corpus(tmp_path)
    assert info.value.field == "a/one.md: id"
    (tmp_path / "a" / "one.md").write_text(GOOD.format(id="one"))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "one.md").write_text(GOOD.format(id="one"))
    with pytest.raises(CorpusError, match="already used by a/one.md"):
        load_corpus(tmp_path)


def test_content_hash_follows_the_bytes(tmp_path):
    shutil.copytree(CORPUS_DIR / "voltage", tmp_path / "voltage")
    before = content_hash(tmp_path)
    assert content_hash(tmp_path) == before and content_hash(tmp_path, salt=("x",)) != before
    path = tmp_path / "voltage" / "ansi-c84-1-range-a.md"
    path.write_text(path.read_text() + "\nOne more sentence.\n")
    assert content_hash(tmp_path) != before


def test_unknown_entry_is_a_typed_error():
    with pytest.raises(UnknownEntryError) as info:
        get_entry("no-such-entry")
    assert info.value.field == "entry_id" and "search_standards" in info.value.fix


@pytest.mark.parametrize("entry_id", ["*", "ansi-c84-1-range-*", "ansi-c84-1-range-?", "[a]nsi-c84-1-range-a",
                                      "**/ansi-c84-1-range-a", "ansi-c84-1-range-a.md", "ANSI-C84-1-RANGE-A",
                                      "ansi-c84-1-range-a ", ".*", "", "../voltage/ansi-c84-1-range-a"])
def test_an_entry_id_is_matched_exactly_never_as_a_pattern(entry_id):
    with pytest.raises(UnknownEntryError) as info:
        get_entry(entry_id)
    assert info.value.field == "entry_id" and "search_standards" in info.value.fix


def test_a_near_miss_suggests_the_closest_ids():
    with pytest.raises(UnknownEntryError) as info:
        get_entry("ansi-c84-1-range-c")
    assert "did you mean: ansi-c84-1-range-a" in info.value.fix or "did you mean: ansi-c84-1-range-b" in info.value.fix
    with pytest.raises(UnknownEntryError, match="wildcards") as info:
        get_entry("ansi-c84-1-range-*")
    assert "ansi-c84-1-range-a" in info.value.fix


def test_read_standard_refuses_a_glob(workspace):
    from gridsage.tools.standards import read_standard

    with pytest.raises(UnknownEntryError) as info:
        read_standard("*")
    assert info.value.field == "entry_id" and "search_standards" in info.value.fix
    assert read_standard("ansi-c84-1-range-a").entry_id == "ansi-c84-1-range-a"


def test_default_limits_are_the_corpus_figures():
    band, thermal = voltage_band(), thermal_limit()
    voltage = parse_entry(next(CORPUS_DIR.rglob(f"{VOLTAGE_ENTRY}.md")))
    rating = parse_entry(next(CORPUS_DIR.rglob(f"{THERMAL_ENTRY}.md")))
    assert (band.lower, band.upper) == (voltage.figures["vm_pu_min"], voltage.figures["vm_pu_max"]) == (0.95, 1.05)
    assert thermal.upper == rating.figures["loading_percent_max"] == 100
    assert band.citation.entry_id == VOLTAGE_ENTRY and thermal.citation.entry_id == THERMAL_ENTRY


def test_the_tools_apply_the_corpus_figures(case14):
    from gridsage.tools.grid.power_flow import run_power_flow

    result = run_power_flow(case14)
    band, thermal = result.limits
    entry = get_entry(VOLTAGE_ENTRY)
    assert (band.lower, band.upper) == (entry.figures["vm_pu_min"], entry.figures["vm_pu_max"])
    assert thermal.upper == get_entry(THERMAL_ENTRY).figures["loading_percent_max"]
    assert all(v.citation.entry_id in (VOLTAGE_ENTRY, THERMAL_ENTRY) for v in result.violations)


def test_a_limits_file_overrides_a_figure_and_says_so(tmp_path, monkeypatch, case14):
    from gridsage.tools.grid.power_flow import run_power_flow

    limits = tmp_path / "limits.yaml"
    limits.write_text(f"{VOLTAGE_ENTRY}:\n  vm_pu_min: 0.97\n")
    monkeypatch.setenv("GRIDSAGE_LIMITS_FILE", str(limits))
    band = run_power_flow(case14).limits[0]
    assert band.lower == 0.97 and band.upper == 1.05
    assert "vm_pu_min 0.97 in place of 0.95" in band.citation.note and str(limits) in band.citation.note


@pytest.mark.parametrize("text, words", [
    (f"{VOLTAGE_ENTRY}:\n  vm_pu_min: low\n", "must be a number"),
    (f"{VOLTAGE_ENTRY}:\n  vm_pu_lowest: 0.9\n", "has no figure 'vm_pu_lowest'"),
    ("- just a list\n", "must map entry ids"),
])
def test_a_bad_limits_file_is_a_typed_error(tmp_path, monkeypatch, text, words):
    limits = tmp_path / "limits.yaml"
    limits.write_text(text)
    monkeypatch.setenv("GRIDSAGE_LIMITS_FILE", str(limits))
    with pytest.raises(CorpusError, match=words):
        voltage_band()
