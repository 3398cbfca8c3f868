"""Retrieval evaluation: do operators' questions find the corpus entries that answer them?

A question set pairs each question, written as an operator would ask it,
with the ids of the entries that answer it.  Two sets ship
(:data:`QUESTION_SETS`): ``shipped``, full questions as operators, planners
and analysts ask them, and ``terse``, operator shorthand as typed into a
search box ("FAA @ 140", "THDv 230 kV", "DER OF2 default"), written before
the abbreviation map was tuned (issue 22).  For each question the index is
searched with the question text alone (no filters), and two standard
information-retrieval measures are reported over the whole set.

References
----------
.. [1] C. D. Manning, P. Raghavan and H. Schütze, "Introduction to Information
   Retrieval", Cambridge University Press, 2008, ch. 8 (recall at k, mean
   reciprocal rank).
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from gridsage.errors import InputError, from_validation_error
from gridsage.knowledge.index import StandardsIndex, get_index

#: the question sets shipped in ``gridsage.evals``, by name
QUESTION_SETS = {"shipped": "knowledge_questions.yaml", "terse": "knowledge_questions_terse.yaml"}


class Question(BaseModel):
    """One evaluation question and the entries that answer it."""

    question: str = Field(min_length=5)
    relevant: list[str] = Field(min_length=1, description="Entry ids that answer the question.")


class QuestionScore(BaseModel):
    """How one question fared."""

    question: str
    relevant: list[str]
    retrieved: list[str] = Field(description="Top-k entry ids, best first.")
    recall: float = Field(description="Share of the relevant ids in the top k [0..1].")
    reciprocal_rank: float = Field(description="1 / rank of the first relevant id; 0 if none in the top k.")


class RetrievalReport(BaseModel):
    """Recall at k and mean reciprocal rank over a question set."""

    k: int
    questions: int
    recall_at_k: float = Field(description="Mean over questions of the share of relevant ids in the top k [0..1].")
    hit_rate_at_k: float = Field(description="Share of questions with at least one relevant id in the top k [0..1].")
    mrr: float = Field(description="Mean reciprocal rank of the first relevant id [0..1].")
    scores: list[QuestionScore]

    def misses(self) -> list[QuestionScore]:
        """Questions whose relevant ids were not all retrieved."""
        return [s for s in self.scores if s.recall < 1.0]


def load_questions(path: Path | None = None, name: str = "shipped") -> list[Question]:
    """Read a question set (YAML list of ``{question, relevant}``): ``path``, or the shipped set ``name``.

    Parameters
    ----------
    path : pathlib.Path, optional
        A question file; when given, ``name`` is ignored.
    name : str, default "shipped"
        A set of :data:`QUESTION_SETS`: ``'shipped'`` or ``'terse'``.

    Raises
    ------
    InputError
        If ``name`` is not a shipped set, the file is missing, does not parse,
        or an item is malformed (``field`` is ``questions[i].<name>``).
    """
    import yaml

    if path is None and name not in QUESTION_SETS:
        raise InputError(f"no question set named {name!r}", field="questions",
                         fix=f"use one of: {', '.join(QUESTION_SETS)}; or give a YAML file.")
    try:
        text = path.read_text(encoding="utf-8") if path else \
            importlib.resources.files("gridsage.evals").joinpath(QUESTION_SETS[name]).read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"the question set cannot be read: {' '.join(str(exc).split())}", field="questions",
                         fix="give a YAML file with a list of {question: ..., relevant: [entry ids]}.") from None
    if not isinstance(data, list) or not data:
        raise InputError("the question set must be a non-empty YAML list", field="questions",
                         fix="write items like '- {question: ..., relevant: [ansi-c84-1-range-a]}'.")
    questions = []
    for i, item in enumerate(data):
        try:
            questions.append(Question.model_validate(item))
        except ValidationError as exc:
            raise from_validation_error(exc, prefix=f"questions[{i}]") from None
    return questions


def evaluate_retrieval(questions: list[Question], k: int = 5, index: StandardsIndex | None = None) -> RetrievalReport:
    """Search each question and score the ranking against its relevant ids.

    Parameters
    ----------
    questions : list of Question
    k : int, default 5
        Cut-off rank.
    index : StandardsIndex, optional
        Default the configured index (built if needed).

    Returns
    -------
    RetrievalReport
        Recall@k, hit rate@k and MRR [0..1], with per-question rows.

    Raises
    ------
    InputError
        If a question names an entry id that is not in the corpus.
    """
    index = index or get_index()
    index.ensure()
    scores = []
    for i, q in enumerate(questions):
        unknown = [e for e in q.relevant if e not in index.entry_ids]
        if unknown:
            raise InputError(f"relevant ids not in the corpus: {', '.join(unknown)}", field=f"questions[{i}].relevant",
                             fix="use entry ids listed by the standards://index resource or `gridsage knowledge search`.")
        retrieved = [hit.entry_id for hit in index.search(q.question, k=k)]
        found = [e for e in q.relevant if e in retrieved]
        first = next((rank for rank, e in enumerate(retrieved, 1) if e in q.relevant), None)
        scores.append(QuestionScore(question=q.question, relevant=q.relevant, retrieved=retrieved,
                                    recall=round(len(found) / len(q.relevant), 4),
                                    reciprocal_rank=round(1 / first, 4) if first else 0.0))
    n = len(scores)
    return RetrievalReport(k=k, questions=n, recall_at_k=round(sum(s.recall for s in scores) / n, 4),
                           hit_rate_at_k=round(sum(s.recall > 0 for s in scores) / n, 4),
                           mrr=round(sum(s.reciprocal_rank for s in scores) / n, 4), scores=scores)


class RetrievalSuite(BaseModel):
    """Retrieval scores on several question sets, by set name."""

    reports: dict[str, RetrievalReport]
