"""read_evidence: the full result behind an evidence id, by JSON pointer, a page at a time, on real results."""

from __future__ import annotations

import json

import pytest

from gridsage.errors import InputError
from gridsage.tools.evidence_reader import MEMBER_CHARS, PAGE_CHARS, read_evidence
from gridsage.tools.grid import load_grid, run_contingency_analysis, run_power_flow


@pytest.fixture(scope="module")
def case39(workspace_module):
    return load_grid("case39").grid_id


@pytest.fixture(scope="module")
def workspace_module():
    from gridsage.tools.workspace import Workspace, use_workspace

    with use_workspace(Workspace()) as ws:
        yield ws


def test_a_short_result_reads_whole_and_a_list_reads_in_pages(case39, workspace_module):
    pf = run_power_flow(case39)
    ledger = len(workspace_module.ledger)
    whole = read_evidence(pf.evidence_id)
    assert whole.value == workspace_module.ledger.get(pf.evidence_id).result and whole.total is None
    assert whole.evidence_id == pf.evidence_id and whole.tool == "run_power_flow"
    assert len(workspace_module.ledger) == ledger  # reading records no new evidence
    first = read_evidence(pf.evidence_id, "/buses", limit=10)
    rest = read_evidence(pf.evidence_id, "buses", offset=first.next_offset, limit=100)  # the leading '/' is optional
    assert first.total == rest.total == 39 and first.next_offset == 10 and rest.next_offset is None
    assert [b["bus"] for b in first.value + rest.value] == [b.bus for b in pf.buses]
    assert read_evidence(pf.evidence_id, "/buses/0/vm_pu").value == pf.buses[0].vm_pu
    assert read_evidence(pf.evidence_id, "/buses", offset=99).value == []


def test_a_long_result_is_outlined_and_its_pages_stay_bounded(case39, workspace_module):
    n1 = run_contingency_analysis(case39, top=46)
    top = read_evidence(n1.evidence_id)
    assert len(json.dumps(n1.model_dump(mode="json"))) > PAGE_CHARS
    assert top.value["top"] == "<list of 46 items: path /top>" and top.value["contingencies_total"] == 46
    assert all(len(json.dumps(v)) <= MEMBER_CHARS or isinstance(v, str) for v in top.value.values())
    page = read_evidence(n1.evidence_id, "/top", limit=200)
    assert 0 < len(page.value) < 46 and page.next_offset == len(page.value)  # cut at the page bound, not at limit
    assert len(json.dumps(page.value)) <= PAGE_CHARS + max(len(json.dumps(v)) for v in page.value)
    assert page.value[0]["outage"] == n1.top[0].outage.model_dump()


def test_bad_paths_and_ids_name_the_field(case39):
    pf = run_power_flow(case39)
    with pytest.raises(InputError) as info:
        read_evidence(pf.evidence_id, "/buses/999")
    assert info.value.field == "path" and "items 0-38" in info.value.message
    with pytest.raises(InputError) as info:
        read_evidence(pf.evidence_id, "/nope")
    assert info.value.field == "path" and "violations" in info.value.message
    with pytest.raises(InputError) as info:
        read_evidence("ev-9999")
    assert info.value.field == "evidence_id"
    with pytest.raises(InputError) as info:
        read_evidence("not-an-id")
    assert info.value.field == "evidence_id"
