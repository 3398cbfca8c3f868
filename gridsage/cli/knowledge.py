"""``gridsage knowledge ...``: the standards corpus: search, show, build the index, score retrieval."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from gridsage.cli._shared import JsonOption, OutputFormat, as_json, err, fail, out
from gridsage.errors import GridSageError

knowledge_app = typer.Typer(
    name="knowledge",
    help=(
        "The standards corpus: short entries, in GridSage's own words, one per clause (ANSI C84.1, NERC TPL-001, "
        "IEEE C57.91, IEEE 1366, IEEE 1547, IEEE 519, NERC CIP, IEC 62443, ATT&CK for ICS, ...). Findings cite them by id.\n\n"
        "The search index (ChromaDB, MiniLM embeddings, all offline) is built on first use and rebuilt when the corpus "
        "changes. Examples: `gridsage knowledge search \"hot-spot limit in an emergency\"`, "
        "`gridsage knowledge show ansi-c84-1-range-a`. Folders: `GRIDSAGE_KNOWLEDGE_DIR` (index), `GRIDSAGE_CORPUS_DIR` "
        "(corpus), `GRIDSAGE_LIMITS_FILE` (limit overrides)."
    ),
    no_args_is_help=True,
)


def _ensure_index(force: bool = False):
    """Open (and if needed build) the standards index, with a progress bar on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from gridsage.knowledge.index import get_index

    index = get_index()
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("opening the standards index (first use loads the embedder)", total=None)

        def step(done: int, total: int) -> None:
            bar.update(task, description="embedding the corpus", completed=done, total=total)

        return index, index.ensure(progress=step, force=force)


@knowledge_app.command("build")
def knowledge_build(force: Annotated[bool, typer.Option("--force", help="Rebuild even if the corpus is unchanged.")] = False) -> None:
    """Build the search index now (it is also built on first use, and rebuilt when the corpus changes)."""
    try:
        index, report = _ensure_index(force)
    except GridSageError as exc:
        fail(exc)
    what = "built" if report.rebuilt else "up to date"
    out.print(f"standards index {what}: {report.entries} entries, {len(index.standards)} standards, "
              f"{report.elapsed_s:.1f} s, corpus sha256 {report.corpus_sha256[:12]} in {report.index_dir}")


@knowledge_app.command("search")
def knowledge_search(
    query: Annotated[str, typer.Argument(help="A question or keywords, e.g. \"how long may a transformer run at 130 C hot-spot\".")],
    k: Annotated[int, typer.Option("-k", help="Passages to show (1-20).")] = 5,
    standard: Annotated[Optional[str], typer.Option("--standard", "-s", help="Only this standard, e.g. \"IEEE 1366\".")] = None,
    tag: Annotated[Optional[str], typer.Option("--tag", "-t", help="Only entries with this tag, e.g. dga, voltage, cyber.")] = None,
    fmt: JsonOption = OutputFormat.text,
) -> None:
    """Search the standards by meaning; each hit shows its citation, id and score."""
    from gridsage.tools.standards import search_standards

    try:
        _ensure_index()
        result = search_standards(query, k=k, standard=standard, tag=tag)
    except GridSageError as exc:
        fail(exc)
    if as_json(result, fmt):
        return
    for rank, hit in enumerate(result.hits, 1):
        out.print(f"{rank}. [bold]{hit.title}[/] ({hit.citation.short()})  score {hit.score:.2f}  id {hit.entry_id}", highlight=False)
        first = hit.passage.split(". ")[0].replace("\n", " ")
        out.print(f"   {first}.", highlight=False)
    out.print(f"\\[{result.evidence_id}] full text: gridsage knowledge show ID", highlight=False)


@knowledge_app.command("show")
def knowledge_show(entry_id: Annotated[str, typer.Argument(help="Entry id, as cited in findings, e.g. ansi-c84-1-range-a.")],
                   fmt: JsonOption = OutputFormat.text) -> None:
    """Show one entry: citation, key figures and explanation (no index needed)."""
    from gridsage.tools.standards import read_standard

    try:
        result = read_standard(entry_id)
    except GridSageError as exc:
        fail(exc)
    if as_json(result, fmt):
        return
    out.print(f"[bold]{result.title}[/]\n{result.citation.short()}  (id {result.entry_id}; tags {', '.join(result.tags)}"
              f"{'; checked against the clause ' + result.checked if result.checked else ''})", highlight=False)
    for name, value in result.figures.items():
        out.print(f"  {name} = {value}", highlight=False)
    out.print("")
    out.print(result.text, highlight=False)


class QuestionSet(str, Enum):
    shipped = "shipped"
    terse = "terse"
    all = "all"


@knowledge_app.command("eval")
def knowledge_eval(
    questions: Annotated[Optional[Path], typer.Option("--questions", "-q", help="YAML list of {question, relevant: [ids]}; "
                                                      "replaces --set.")] = None,
    question_set: Annotated[QuestionSet, typer.Option("--set", help="Shipped question set: shipped (full operator "
                                                      "questions), terse (operator shorthand such as \"FAA @ 140\", "
                                                      "\"THDv 230 kV\") or all (each scored on its own).")] = QuestionSet.shipped,
    k: Annotated[int, typer.Option("-k", help="Cut-off rank.")] = 5,
    fmt: JsonOption = OutputFormat.text,
) -> None:
    """Score retrieval on operator questions: recall@k and MRR per question set, and list the misses.

    Examples: `gridsage knowledge eval --set all`, `gridsage knowledge eval --questions my_questions.yaml`.
    """
    from gridsage.evals.retrieval import QUESTION_SETS, RetrievalSuite, evaluate_retrieval, load_questions

    if questions is not None:
        names = [str(questions)]
    else:
        names = list(QUESTION_SETS) if question_set is QuestionSet.all else [question_set.value]
    try:
        sets = {name: load_questions(questions) if questions is not None else load_questions(name=name) for name in names}
        index, _ = _ensure_index()
        reports = {name: evaluate_retrieval(items, k=k, index=index) for name, items in sets.items()}
    except GridSageError as exc:
        fail(exc)
    if fmt is OutputFormat.json:
        as_json(next(iter(reports.values())) if len(reports) == 1 else RetrievalSuite(reports=reports), fmt)
        return
    for name, report in reports.items():
        label = "" if questions is not None else f"{name}: "
        out.print(f"{label}{report.questions} questions, k={k}: recall@{k} {report.recall_at_k:.3f}, hit rate@{k} "
                  f"{report.hit_rate_at_k:.3f}, MRR {report.mrr:.3f}", highlight=False)
        for miss in report.misses():
            out.print(f"  miss: {miss.question}\n        wanted {miss.relevant}, got {miss.retrieved}", highlight=False)
