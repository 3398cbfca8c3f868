"""The standards index: real ChromaDB on disk with the pip-installed MiniLM (int8 ONNX), offline (see conftest.no_network)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

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


def _builds(settings) -> list[str]:
    return sorted(p.name for p in (settings.index_dir / "builds").iterdir())


def test_each_build_is_a_folder_of_its_own_swapped_in_by_the_pointer(tmp_path):
    settings = _small_corpus(tmp_path)
    settings.index_dir.mkdir()
    (settings.index_dir / "chroma.sqlite3").write_bytes(b"an index of the layout before builds")
    index = StandardsIndex(settings)
    first = index.ensure()
    pointer = json.loads((settings.index_dir / "current.json").read_text())
    assert first.rebuilt and pointer["build"] == first.build and pointer["corpus_sha256"] == first.corpus_sha256
    assert _builds(settings) == [first.build] and index.build_dir == settings.index_dir / "builds" / first.build
    assert not (settings.index_dir / "chroma.sqlite3").exists()  # the old layout is cleared at the first build

    # a second object on the folder opens the same build; after a forced rebuild the first switches on its next ensure
    other = StandardsIndex(settings)
    assert other.ensure().build == first.build
    second = other.ensure(force=True)
    assert second.rebuilt and second.build != first.build and _builds(settings) == sorted([first.build, second.build])
    assert index.search("voltage band", k=1)[0].entry_id  # still reads the build it opened
    seen = index.ensure()
    assert not seen.rebuilt and seen.build == second.build
    third = other.ensure(force=True)
    assert _builds(settings) == sorted([second.build, third.build])  # the current one and the one it replaced

    # a pointer naming a build that is gone is not trusted: the next open builds anew
    shutil.rmtree(settings.index_dir / "builds" / third.build)
    healed = StandardsIndex(settings).ensure()
    assert healed.rebuilt and healed.build not in (second.build, third.build) and healed.entries == first.entries


READER = """
import json, os, sys, time
from gridsage.knowledge import embedding
from gridsage.knowledge.index import StandardsIndex

embedding.THREADS = 1        # leave the cores to the builds (read when the embedder loads)
held = StandardsIndex()      # opens once, then only searches: keeps its build until it reopens
held.ensure()
fresh = StandardsIndex()     # opens before every search: follows the rebuilds
print(json.dumps({"ready": True}), flush=True)
stop = sys.argv[1]
searches, failures, builds, first = 0, [], set(), held.build_dir
while not os.path.exists(stop):
    for index in (held, fresh):
        try:
            if index is fresh:
                builds.add(index.ensure().build)
            if not index.search("acetylene in the transformer oil", k=3):
                failures.append("no hits")
            searches += 1
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {exc}")
    time.sleep(0.02)
print(json.dumps({"searches": searches, "failures": failures, "builds": sorted(builds),
                  "held_reopened": held.build_dir != first}), flush=True)
"""


def test_a_rebuild_while_another_process_searches_never_fails_the_reader(tmp_path):
    """The reported failure: `gridsage knowledge build --force` while a server searched ('Collection ... does not exist')."""
    settings = _small_corpus(tmp_path)
    StandardsIndex(settings).ensure()
    env = dict(os.environ, GRIDSAGE_CORPUS_DIR=str(settings.corpus_dir), GRIDSAGE_KNOWLEDGE_DIR=str(settings.index_dir))
    stop = tmp_path / "stop"
    errors = tmp_path / "reader.err"
    with open(errors, "w") as err_file:
        reader = subprocess.Popen([sys.executable, "-c", READER, str(stop)], stdout=subprocess.PIPE, stderr=err_file,
                                  text=True, env=env)
    try:
        assert json.loads(reader.stdout.readline() or "{}").get("ready"), errors.read_text()[-3000:]
        for _ in range(2):  # two forced rebuilds, as a user runs them, while the reader searches: the first build goes
            done = subprocess.run([sys.executable, "-m", "gridsage", "knowledge", "build", "--force"], capture_output=True,
                                  text=True, timeout=300, env=env, check=False)
            assert done.returncode == 0 and "standards index built" in done.stdout, done.stdout + done.stderr[-3000:]
        time.sleep(1.0)
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=120)
    assert reader.returncode == 0 and out.strip(), errors.read_text()[-3000:]
    report = json.loads(out.strip().splitlines()[-1])
    assert report["failures"] == [] and report["searches"] >= 10, (report, errors.read_text()[-3000:])
    assert len(report["builds"]) >= 2, report  # the reopening reader followed the rebuilds
    assert len(_builds(settings)) <= 2  # the first build, still held by a reader, was deleted: it read on or reopened
    current = json.loads((settings.index_dir / "current.json").read_text())["build"]
    assert current in _builds(settings) and StandardsIndex(settings).ensure().build == current
