"""A limit override naming a figure the entry lacks is an error about the limits file (GRIDSAGE_LIMITS_FILE), with
the entry's valid figure names; and entry ids are matched literally on every path that reads an entry."""

from __future__ import annotations

import pytest

from gridsage.errors import CorpusError, UnknownEntryError
from gridsage.knowledge.corpus import CORPUS_DIR, parse_entry
from gridsage.knowledge.limits import VOLTAGE_ENTRY, corpus_entry, figure, voltage_band


def _limits(tmp_path, monkeypatch, text: str):
    path = tmp_path / "utility-limits.yaml"
    path.write_text(text)
    monkeypatch.setenv("GRIDSAGE_LIMITS_FILE", str(path))
    return path


def test_a_misspelt_override_names_the_limits_file_and_the_valid_figures(tmp_path, monkeypatch):
    path = _limits(tmp_path, monkeypatch, f"{VOLTAGE_ENTRY}:\n  vm_pu_mn: 0.93\n")
    # the entry's figures, read from its file by hand (the oracle), not from GridSage's lookup
    entry_file = next(CORPUS_DIR.rglob(f"{VOLTAGE_ENTRY}.md"))
    names = set(parse_entry(entry_file).figures)
    assert {"vm_pu_min", "vm_pu_max"} <= names
    with pytest.raises(CorpusError) as info:
        voltage_band()
    err = info.value
    assert err.field == f"GRIDSAGE_LIMITS_FILE ({path}): {VOLTAGE_ENTRY}.vm_pu_mn"
    assert "has no figure 'vm_pu_mn'" in err.message and "did you mean 'vm_pu_min'" in err.message
    assert str(path) in err.fix and f"'{VOLTAGE_ENTRY}:'" in err.fix
    assert all(name in err.fix for name in names)
    assert entry_file.name not in err.fix and "under figures:" not in err.fix  # not the corpus file


def test_the_message_is_the_same_whichever_figure_is_asked(tmp_path, monkeypatch):
    path = _limits(tmp_path, monkeypatch, "nerc-prc-006-ufls:\n  f_hz_steady_state_mn: 59.4\n")
    with pytest.raises(CorpusError) as info:
        figure("nerc-prc-006-ufls", "f_hz_nominal")  # a correctly spelt figure of the same entry
    assert str(path) in info.value.field and "f_hz_steady_state_min" in info.value.fix
    assert "ercot_ufls_stages_hz_percent" not in info.value.fix  # a list figure cannot be overridden by a number


def test_a_misspelt_entry_id_in_the_limits_file_is_an_error_naming_it(tmp_path, monkeypatch):
    path = _limits(tmp_path, monkeypatch, "ansi-c84-1-range-x:\n  vm_pu_min: 0.93\n")
    with pytest.raises(CorpusError) as info:
        voltage_band()  # the misspelt entry is not the one asked for: still an error, not silently ignored
    err = info.value
    assert err.field == f"GRIDSAGE_LIMITS_FILE ({path}): ansi-c84-1-range-x" and "not a corpus entry" in err.message
    assert str(path) in err.fix and "ansi-c84-1-range-a" in err.fix


def test_a_correct_override_still_applies_and_says_so(tmp_path, monkeypatch):
    path = _limits(tmp_path, monkeypatch, f"{VOLTAGE_ENTRY}:\n  vm_pu_min: 0.93\n")
    band = voltage_band()
    assert (band.lower, band.upper) == (0.93, 1.05)
    assert "vm_pu_min 0.93 in place of 0.95" in band.citation.note and str(path) in band.citation.note


@pytest.mark.parametrize("entry_id", ["*", "ansi-*", "?", "ansi-c84-1-range-?", "nerc-prc-006-*"])
def test_wildcards_read_no_entry_through_the_limits_layer(entry_id):
    with pytest.raises(UnknownEntryError) as info:
        corpus_entry(entry_id)
    assert info.value.field == "entry_id" and "search_standards" in info.value.fix


@pytest.mark.parametrize("entry_id", ["*", "ansi-*", "?"])
def test_wildcards_read_no_entry_through_the_mcp_resource(entry_id):
    from mcp.server.mcpserver.exceptions import ResourceNotFoundError

    from gridsage.mcp_server import standard_markdown

    with pytest.raises(ResourceNotFoundError, match="no standards entry"):
        standard_markdown(entry_id)
    assert standard_markdown(VOLTAGE_ENTRY).startswith("# ")
