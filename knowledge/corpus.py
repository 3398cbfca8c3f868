"""The standards corpus: short entries, in GridSage's own words, one per clause.

Each entry is a markdown file ``<topic>/<id>.md`` under :data:`CORPUS_DIR`
with YAML front matter::

    ---
    id: ansi-c84-1-range-a          # = the file name without .md
    title: Service voltage, Range A
    standard: ANSI C84.1
    edition: "2020"
    clause: Table 1, Range A
    checked: 2026-12-05             # date the facts were last checked against that clause
    tags: [voltage, steady-state]
    figures:                        # key figures, unit in the name
      vm_pu_min: 0.95
      vm_pu_max: 1.05
    ---
    A few sentences an engineer would write.

Standards texts are copyrighted; the entries state their facts, limits and
formulas in our own words and point to the clause for the original.  ``checked``
records when an entry's facts and figures were last compared with that clause
(every shipped entry has one; a user's own corpus may leave it out).  Reading
the corpus needs only PyYAML (no embedder, no index).
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import hashlib
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from gridsage.errors import CorpusError, UnknownEntryError

from .citation import Citation

#: the corpus shipped with GridSage
CORPUS_DIR = Path(__file__).parent / "corpus"

#: what an entry id looks like: lower-case letters and digits, in words joined by '-' or '.'
ENTRY_ID_PATTERN = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")
EntryId = Annotated[str, StringConstraints(pattern=ENTRY_ID_PATTERN.pattern, max_length=80)]
FigureName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
Scalar = float | int | str | bool
Figure = Scalar | list[Scalar] | list[list[float]]


class CorpusEntry(BaseModel):
    """One corpus entry: a clause of a standard, its key figures, and an explanation.

    Figures carry their unit in their name, as pandapower does: ``vm_pu_min``
    [pu], ``loading_percent_max`` [%], ``f_hz_min`` [Hz], ``theta_h_c`` [°C],
    ``c2h2_ppm`` [ppm], ``t_s`` [s].
    """

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    id: EntryId = Field(description="Unique id, lower-case words joined by '-'; equals the file name.")
    title: str = Field(min_length=3, max_length=160)
    standard: str = Field(min_length=2, description="e.g. 'IEEE C57.91'.")
    edition: str = Field(min_length=1, description="Edition or year, e.g. '2011'.")
    clause: str = Field(min_length=1, description="Clause, table or section, e.g. 'Clause 7'.")
    checked: dt.date | None = Field(default=None, description="Date the entry's facts and figures were last checked "
                                                               "against its clause, YYYY-MM-DD.")
    tags: list[Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$")]] = Field(min_length=1)
    figures: dict[FigureName, Figure] = Field(default_factory=dict)
    body: str = Field(min_length=40, description="The explanation, in markdown.")
    path: str = Field(default="", description="File, relative to the corpus folder.")

    @field_validator("checked")
    @classmethod
    def _not_in_the_future(cls, value: dt.date | None) -> dt.date | None:
        if value is not None and value > dt.date.today():
            raise ValueError(f"the date {value.isoformat()} is in the future")
        return value

    def citation(self, note: str | None = None) -> Citation:
        """The citation of this entry, optionally with how it was applied."""
        return Citation(entry_id=self.id, standard=self.standard, edition=self.edition, clause=self.clause, note=note)

    def figure(self, name: str) -> Figure:
        """One key figure by name.

        Raises
        ------
        CorpusError
            If the entry has no such figure.
        """
        if name not in self.figures:
            raise CorpusError(f"entry {self.id!r} has no figure {name!r} (it has: {', '.join(self.figures) or 'none'})",
                              field=f"{self.path}: figures.{name}", fix=f"add '{name}' under figures: in {self.path}.")
        return self.figures[name]


def _split_front_matter(text: str, rel: str) -> tuple[str, str]:
    import frontmatter

    if not text.lstrip().startswith("---"):
        raise CorpusError("the file has no YAML front matter", field=f"{rel}: front matter",
                          fix="start the file with a '---' line, the fields id, title, standard, edition, clause, tags, "
                              "then a closing '---' line and the explanation.")
    try:
        post = frontmatter.loads(text)
    except Exception as exc:  # yaml.YAMLError and its subclasses, raised by the front-matter parser
        raise CorpusError(f"the front matter is not valid YAML ({' '.join(str(exc).split())})",
                          field=f"{rel}: front matter", fix="correct the YAML between the '---' lines.") from None
    return post.metadata, post.content


def parse_entry(path: Path, root: Path = CORPUS_DIR) -> CorpusEntry:
    """Read and validate one entry file.

    Parameters
    ----------
    path : pathlib.Path
        The markdown file.
    root : pathlib.Path, default :data:`CORPUS_DIR`
        Corpus folder; the entry's ``path`` is relative to it.

    Returns
    -------
    CorpusEntry

    Raises
    ------
    CorpusError
        If the file has no front matter, its YAML does not parse, a field is
        missing or invalid, or the id differs from the file name; ``field``
        names the file and the field.
    """
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    metadata, body = _split_front_matter(path.read_text(encoding="utf-8"), rel)
    try:
        entry = CorpusEntry.model_validate({**metadata, "body": body.strip(), "path": rel})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"] if p != "[key]") or "front matter"
        extra = f" ({len(exc.errors()) - 1} more problem(s) after this one)" if len(exc.errors()) > 1 else ""
        fix = ("write a few sentences of explanation after the closing '---'." if where == "body" else
               f"correct '{where}' in the front matter; fields are id, title, standard, edition, clause, checked "
               "(YYYY-MM-DD), tags, figures.")
        raise CorpusError(f"{err['msg']}{extra}", field=f"{rel}: {where}", fix=fix) from None
    if entry.id != path.stem:
        raise CorpusError(f"id {entry.id!r} differs from the file name {path.stem!r}", field=f"{rel}: id",
                          fix=f"rename the file to {entry.id}.md or set id: {path.stem}.")
    return entry


def entry_files(root: Path = CORPUS_DIR) -> list[Path]:
    """Every entry file under ``root``, sorted (``README.md`` files excluded)."""
    return sorted(p for p in root.rglob("*.md") if p.name != "README.md")


def load_corpus(root: Path = CORPUS_DIR) -> dict[str, CorpusEntry]:
    """Read and validate every entry.

    Parameters
    ----------
    root : pathlib.Path, default :data:`CORPUS_DIR`

    Returns
    -------
    dict of str to CorpusEntry
        Entries by id, in file order.

    Raises
    ------
    CorpusError
        On the first malformed entry, or an id used by two files.
    """
    if not root.is_dir():
        raise CorpusError(f"corpus folder {root} does not exist", field="corpus",
                          fix="point GRIDSAGE_CORPUS_DIR at a folder of entry files, or unset it to use the shipped corpus.")
    entries: dict[str, CorpusEntry] = {}
    for path in entry_files(root):
        entry = parse_entry(path, root)
        if entry.id in entries:
            raise CorpusError(f"id {entry.id!r} is already used by {entries[entry.id].path}", field=f"{entry.path}: id",
                              fix="give each entry a unique id.")
        entries[entry.id] = entry
    return entries


def content_hash(root: Path = CORPUS_DIR, salt: Iterable[str] = ()) -> str:
    """SHA-256 over every entry file's relative path and bytes (plus ``salt``).

    The index stores it and rebuilds when it changes.
    """
    digest = hashlib.sha256()
    for part in salt:
        digest.update(part.encode() + b"\0")
    for path in entry_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def entry_path(entry_id: str, root: Path = CORPUS_DIR) -> Path:
    """The file of one entry: the entry file whose name is exactly ``<entry_id>.md``.

    The id is compared with file names as a string: it is never a glob or
    regular-expression pattern, so ``'*'`` or ``'ansi-*'`` match nothing.

    Parameters
    ----------
    entry_id : str
        e.g. ``'ansi-c84-1-range-a'``.
    root : pathlib.Path, default :data:`CORPUS_DIR`

    Returns
    -------
    pathlib.Path

    Raises
    ------
    UnknownEntryError
        If ``entry_id`` is not an id (e.g. it holds wildcards) or no entry
        has it; ``field`` is ``entry_id`` and ``fix`` names the closest ids
        and how to find others.
    """
    files = entry_files(root) if root.is_dir() else []
    well_formed = isinstance(entry_id, str) and ENTRY_ID_PATTERN.fullmatch(entry_id) is not None
    if well_formed:
        for path in files:
            if path.stem == entry_id:
                return path
    ids = sorted({path.stem for path in files})
    near = difflib.get_close_matches(str(entry_id).strip().lower(), ids, n=3, cutoff=0.6)
    shape = "" if well_formed else (" (an id is lower-case letters and digits in words joined by '-' or '.'; "
                                    "wildcards and patterns are not accepted)")
    raise UnknownEntryError(f"no standards entry {entry_id!r}{shape}", field="entry_id",
                            fix=(f"did you mean: {', '.join(near)}? " if near else "") +
                                "Find ids with the search_standards tool (CLI: `gridsage knowledge search QUERY`) "
                                "or the standards://index resource.")


@functools.lru_cache(maxsize=256)
def get_entry(entry_id: str, root: Path = CORPUS_DIR) -> CorpusEntry:
    """One entry by its exact id, reading only its file (once per process: the result is cached).

    Parameters
    ----------
    entry_id : str
        e.g. ``'ansi-c84-1-range-a'``; compared exactly, never as a pattern.
    root : pathlib.Path, default :data:`CORPUS_DIR`

    Returns
    -------
    CorpusEntry

    Raises
    ------
    UnknownEntryError
        If ``entry_id`` is not a well-formed id or no file ``<entry_id>.md``
        exists under ``root`` (``field`` is ``entry_id``; ``fix`` suggests the
        closest ids and search_standards).
    CorpusError
        If the file is malformed.
    """
    return parse_entry(entry_path(entry_id, root), root)
