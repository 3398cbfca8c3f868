"""The standards index: real ChromaDB on disk with the pip-installed MiniLM, offline (see conftest.no_network)."""

from __future__ import annotations

import shutil

import pytest

from gridsage.errors import CorpusError, InputError
from gridsage.knowledge.corpus import CORPUS_DIR, load_corpus
from gridsage.knowledge.index import StandardsIndex
from gridsage.knowledge.settings import KnowledgeSettings


def test_build_persist_reopen_and_query(standards_index, tmp_path):
    assert standards_index.ensure().entries == len(load_corpus()) >= 80
    # a new index object on the same folder (a new process would do the same) finds the index current
    reopened = StandardsIndex(standards_index.settings)
    report = reopened.ensure()
    assert not report.rebuilt and report.entries == len(load_corpus())
    hits = reopened.search("Bus 117 is at 0.94 pu, is that too low for normal operation?", k=5)
    assert hits[0].entry_id == "ansi-c84-1-range-a" and hits[0].citation.entry_id == "ansi-c84-1-range-a"
    assert hits[0].figures["vm_pu_min"] == 0.95 and 0 < hits[-1].score <= hits[0].score <= 1
    assert len(hits) == 5 and len({h.entry_id for h in hits}) == 5


def _small_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    for topic in ("voltage", "dga"):
        shutil.copytree(CORPUS_DIR / topic, corpus / topic)
    return KnowledgeSettings(corpus_dir=corpus, index_dir=tmp_path / "index", limits_file=None)


def test_the_index_rebuilds_when_the_corpus_changes(tmp_path):
    settings = _small_corpus(tmp_path)
    steps = []
    first = StandardsIndex(settings).ensure(progress=lambda done, total: steps.append((done, total)))
    assert first.rebuilt and steps[-1] == (first.entries, first.entries)
    assert not StandardsIndex(settings).ensure().rebuilt

    path = settings.corpus_dir / "voltage" / "ansi-c84-1-range-b.md"
    path.write_text(path.read_text().replace("tags: [", "tags: [brownout-drill, "))
    (settings.corpus_dir / "dga" / "iec-60599-co2-co-ratio.md").unlink()
    index = StandardsIndex(settings)
    second = index.ensure()
    assert second.rebuilt and second.entries == first.entries - 1 and second.corpus_sha256 != first.corpus_sha256
    hits = index.search("voltage", k=3, tag="brownout-drill")
    assert [h.entry_id for h in hits] == ["ansi-c84-1-range-b"]
    assert "iec-60599-co2-co-ratio" not in index.entry_ids


def test_a_malformed_entry_stops_the_build_with_file_and_field(tmp_path):
    settings = _small_corpus(tmp_path)
    path = settings.corpus_dir / "dga" / "iec-60599-fault-classes.md"
    path.write_text(path.read_text().replace("\nclause:", "\nclauses:"))
    with pytest.raises(CorpusError) as info:
        StandardsIndex(settings).ensure()
    assert info.value.field == "dga/iec-60599-fault-classes.md: clause"


def test_filters_by_standard_and_tag(standards_index):
    hits = standards_index.search("what gas points to arcing", k=4, standard="IEEE C57.104")
    assert hits and {h.standard for h in hits} == {"IEEE C57.104"}
    tagged = standards_index.search("limit", k=5, tag="dga")
    assert tagged and all("dga" in h.tags for h in tagged)
    with pytest.raises(InputError) as info:
        standards_index.search("limit", standard="IEEE 9999")
    assert info.value.field == "standard" and "IEEE C57.91" in info.value.fix
    with pytest.raises(InputError, match="did you mean: dga"):
        standards_index.search("limit", tag="dgaa")


def test_search_tool_records_evidence_and_read_tool_needs_no_index(standards_index, workspace):
    from gridsage.tools.standards import read_standard, search_standards

    result = search_standards("acetylene showed up in the main tank sample, what fault is that", k=3)
    assert result.status == "ok" and result.evidence_id.startswith("ev-") and not result.index_rebuilt
    assert workspace.ledger.get(result.evidence_id).tool == "search_standards"
    assert any(h.standard in ("IEEE C57.104", "IEC 60599") for h in result.hits)
    entry = read_standard("ieee-c57-91-aging-acceleration-factor")
    assert entry.figures["b_constant_k"] == 15000 and entry.citation.standard == "IEEE C57.91"
    with pytest.raises(InputError) as info:
        search_standards("x")
    assert info.value.field == "query"


def test_retrieval_eval_meets_its_goal(standards_index):
    from gridsage.evals.retrieval import evaluate_retrieval, load_questions

    questions = load_questions()
    report = evaluate_retrieval(questions, k=5, index=standards_index)
    assert report.questions == len(questions) >= 40
    assert report.recall_at_k >= 0.9, [(m.question, m.relevant, m.retrieved) for m in report.misses()]
    assert 0 < report.mrr <= 1


def test_a_question_naming_an_unknown_entry_is_rejected(standards_index, tmp_path):
    from gridsage.evals.retrieval import evaluate_retrieval, load_questions

    path = tmp_path / "q.yaml"
    path.write_text("- {question: 'what is the voltage band', relevant: [ansi-c84-1-range-a]}\n"
                    "- {question: 'which rule applies here', relevant: [no-such-entry]}\n")
    with pytest.raises(InputError) as info:
        evaluate_retrieval(load_questions(path), index=standards_index)
    assert info.value.field == "questions[1].relevant"
    path.write_text("- {question: 'what is the voltage band'}\n")
    with pytest.raises(InputError) as info:
        load_questions(path)
    assert info.value.field == "questions[0].relevant"
