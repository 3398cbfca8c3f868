"""Confined file access: what the tools may read, where they may write, and errors that never echo a file.

Every tool argument that names a file goes through :func:`readable_file`, and
every output folder through :func:`writable_dir`, so that an MCP client, the
chat agent's model or a web-console user can reach only the data GridSage is
meant to serve:

* **Data roots** (read): the folders of ``GRIDSAGE_DATA_DIRS`` (separated by
  :data:`os.pathsep`, ``:`` on POSIX) when it is set, else ``./data`` (the
  working directory's ``data`` folder); always also the shipped scenario
  library (the ``gridsage.scenarios`` package folder: scenario files, their
  CSVs and telemetry simulations) and the output folder (so a file GridSage
  wrote, e.g. simulated telemetry, can be read back).
* **Output folder** (write): ``GRIDSAGE_OUTPUT_DIR``, else ``./gridsage-output``.

A path argument is taken literally: no ``~`` expansion, no environment
variables.  A relative path is looked up under each data root in order, then
under the working directory (accepted only when the file it names lies inside
a root, e.g. ``data/load.csv`` from the folder holding ``./data``); the first
existing file wins.  The path is resolved fully (``..`` and symbolic links) *before*
the root check, so neither can leave a root.  Errors name the field, the
argument as given and the roots, never anything read from a file.

Tools read the two environment variables themselves (this module does not
import :mod:`gridsage.config`, which belongs to the entry points).
"""

from __future__ import annotations

import difflib
import importlib.resources
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gridsage.errors import UNION_TAGS, InputError

#: environment variable: data roots, separated by os.pathsep
DATA_DIRS_ENV = "GRIDSAGE_DATA_DIRS"
#: environment variable: the output folder
OUTPUT_DIR_ENV = "GRIDSAGE_OUTPUT_DIR"
#: default data root, relative to the working directory
DEFAULT_DATA_DIR = "data"
#: default output folder, relative to the working directory
DEFAULT_OUTPUT_DIR = "gridsage-output"
#: longest path argument accepted [characters]
MAX_PATH_CHARS = 4096


def shipped_root() -> Path:
    """The shipped scenario library's folder (the ``gridsage.scenarios`` package), resolved.

    Returns
    -------
    pathlib.Path
    """
    return Path(str(importlib.resources.files("gridsage.scenarios"))).resolve()


def _unique(paths: Iterable[Path]) -> list[Path]:
    seen: list[Path] = []
    for p in paths:
        if p not in seen:
            seen.append(p)
    return seen


def data_roots() -> list[Path]:
    """The folders files may be read from, resolved, in lookup order.

    Returns
    -------
    list of pathlib.Path
        The entries of ``GRIDSAGE_DATA_DIRS`` (``os.pathsep``-separated;
        relative entries are relative to the working directory, ``~`` is
        expanded in this operator setting) when it is set and not blank, else
        ``./data``; then the shipped scenario folder (:func:`shipped_root`).
        A root need not exist.
    """
    raw = os.environ.get(DATA_DIRS_ENV, "")
    entries = [e.strip() for e in raw.split(os.pathsep) if e.strip() and "\x00" not in e]
    roots = [Path(e).expanduser().resolve() for e in entries] if entries else [(Path.cwd() / DEFAULT_DATA_DIR).resolve()]
    return _unique(roots + [shipped_root()])


def output_root() -> Path:
    """The folder tools write into, resolved (not created here).

    Returns
    -------
    pathlib.Path
        ``GRIDSAGE_OUTPUT_DIR`` (``~`` expanded; relative to the working
        directory when relative) when set and not blank, else ``./gridsage-output``.
    """
    raw = os.environ.get(OUTPUT_DIR_ENV, "").strip()
    if not raw or "\x00" in raw:
        raw = DEFAULT_OUTPUT_DIR
    return Path(raw).expanduser().resolve()


def readable_roots() -> list[Path]:
    """The data roots (:func:`data_roots`) and the output folder (:func:`output_root`): every folder a tool may read."""
    return _unique(data_roots() + [output_root()])


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == r or path.is_relative_to(r) for r in roots)


def _roots_fix(roots: list[Path], what: str) -> str:
    shown = ", ".join(str(r) for r in roots)
    return (f"{what} under one of the data roots ({shown}), or add its folder to {DATA_DIRS_ENV} "
            f"(folders separated by '{os.pathsep}'); paths are taken literally (no '~').")


def _text(path: Any, field: str, fix: str) -> str:
    """The path argument as text, after the checks every path gets: type, empty, NUL byte, length."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str):
        raise InputError(f"the path is a {type(path).__name__}, not text", field=field, fix=fix)
    if not path.strip():
        raise InputError("the path is empty", field=field, fix=fix)
    if "\x00" in path:
        raise InputError("the path contains a NUL byte", field=field, fix=fix)
    if len(path) > MAX_PATH_CHARS:
        raise InputError(f"the path is {len(path)} characters long; at most {MAX_PATH_CHARS} are accepted", field=field,
                         fix=fix)
    return path


def _shown(path: str) -> str:
    """The argument as given, for a message (shortened; it is the caller's input, not file content)."""
    return repr(path if len(path) <= 120 else path[:120] + "...")


def readable_file(path: str | os.PathLike, field: str, suffixes: Iterable[str] | None = None) -> Path:
    """Resolve a path argument to a regular file inside the data roots, or refuse it.

    Parameters
    ----------
    path : str or os.PathLike
        The argument as given: absolute, or relative to a data root (each
        root is tried in order, then the working directory, whose match counts
        only when it lies inside a root).  ``~`` is not expanded.
    field : str
        Name of the argument, for the error (e.g. ``'csv_path'``).
    suffixes : iterable of str, optional
        Accepted file suffixes, lower case with the dot (e.g. ``('.csv',)``);
        default any.

    Returns
    -------
    pathlib.Path
        The file's fully resolved path (no ``..``, no symbolic link), inside
        one of :func:`readable_roots`.

    Raises
    ------
    InputError
        If the path is empty, has a NUL byte, is longer than
        :data:`MAX_PATH_CHARS`, resolves outside every root (through ``..``,
        a symbolic link or an absolute path), does not exist, is not a
        regular file, or has a suffix not in ``suffixes``.  The message names
        ``field`` and the argument, never the file's content; the fix names
        ``GRIDSAGE_DATA_DIRS`` and the roots.
    """
    roots = readable_roots()
    fix = _roots_fix(roots, "give the path of a file")
    text = _text(path, field, fix)
    given = Path(text)
    if given.is_absolute():
        candidates = [given]
    else:
        candidates = [root / given for root in roots] + [Path.cwd() / given]
    # the working-directory candidate of a relative path is a convenience: outside the roots it is no match, not an escape
    escapes = len(candidates) if given.is_absolute() else len(candidates) - 1
    outside = False
    found = None
    for number, candidate in enumerate(candidates):
        try:
            resolved = candidate.resolve()
        except (OSError, RuntimeError, ValueError):  # a symlink loop, an unreadable folder
            continue
        if not _inside(resolved, roots):
            outside = outside or number < escapes
            continue
        if resolved.exists():
            found = resolved
            break
    if found is None:
        if outside:
            raise InputError(f"{_shown(text)} is outside the data roots", field=field, fix=fix)
        raise InputError(f"no file {_shown(text)} under the data roots", field=field, fix=fix)
    if not found.is_file():
        raise InputError(f"{_shown(text)} is not a regular file", field=field,
                         fix=_roots_fix(roots, "give the path of a regular file (not a folder or a device)"))
    if suffixes is not None:
        allowed = tuple(s.lower() for s in suffixes)
        if found.suffix.lower() not in allowed:
            raise InputError(f"{_shown(text)} is not a {' / '.join(allowed)} file", field=field,
                             fix=f"give a file ending in {' or '.join(allowed)}.")
    return found


def writable_dir(path: str | os.PathLike, field: str, create: bool = True) -> Path:
    """Resolve an output-folder argument to a folder inside the output folder, creating it if missing.

    Parameters
    ----------
    path : str or os.PathLike
        The folder as given: relative to :func:`output_root` (``'.'`` is the
        output folder itself), or absolute inside it.  ``~`` is not expanded.
    field : str
        Name of the argument, for the error (e.g. ``'out_dir'``).
    create : bool, default True
        Create the folder (and its parents); False only checks the argument
        (to refuse it before any work is done).

    Returns
    -------
    pathlib.Path
        The folder, fully resolved, inside :func:`output_root`; it exists
        when ``create``.

    Raises
    ------
    InputError
        If the path is empty, has a NUL byte, is too long, resolves outside
        the output folder (``..``, a symbolic link, an absolute path
        elsewhere), names an existing file, or cannot be created.
    """
    root = output_root()
    fix = (f"give a folder relative to the output folder {root} (set by {OUTPUT_DIR_ENV}), "
           "e.g. 'simulations/run1'; paths are taken literally (no '~').")
    text = _text(path, field, fix)
    given = Path(text)
    candidate = given if given.is_absolute() else root / given
    try:
        resolved = candidate.resolve()
    except (OSError, RuntimeError, ValueError):
        raise InputError(f"{_shown(text)} cannot be resolved", field=field, fix=fix) from None
    if not _inside(resolved, [root]):
        raise InputError(f"{_shown(text)} is outside the output folder", field=field, fix=fix)
    if resolved.exists() and not resolved.is_dir():
        raise InputError(f"{_shown(text)} is an existing file, not a folder", field=field, fix=fix)
    if not create:
        return resolved
    try:
        resolved.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{_shown(text)} cannot be created ({exc.strerror or type(exc).__name__})", field=field,
                         fix=fix) from None
    if not _inside(resolved.resolve(), [root]):  # a link swapped in meanwhile
        raise InputError(f"{_shown(text)} is outside the output folder", field=field, fix=fix)
    return resolved


def writable_file(folder: Path, name: str, field: str) -> Path:
    """A file to (over)write in a folder returned by :func:`writable_dir`; a symbolic link or a folder is refused.

    Parameters
    ----------
    folder : pathlib.Path
        From :func:`writable_dir`.
    name : str
        A plain file name, e.g. ``'telemetry.csv'``.
    field : str
        Argument the folder came from, for the error.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    InputError
        If ``folder / name`` exists and is not a regular file (a symbolic link
        could point outside the output folder).
    """
    target = folder / name
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise InputError(f"{name} in that folder exists and is not a regular file", field=field,
                         fix=f"remove it, or choose another folder under {output_root()}.")
    return target


def _schema_names(model) -> frozenset[str]:
    """Every property name of a pydantic model's JSON schema (nested models included)."""
    names: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            props = node.get("properties")
            if isinstance(props, dict):
                names.update(props)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    try:
        walk(model.model_json_schema())
    except Exception:  # a schema pydantic cannot export: only the field names of the model itself
        names.update(getattr(model, "model_fields", {}))
    return frozenset(names)


def validation_error_without_values(exc, data: Any, model, prefix: str = "", fix: str | None = None) -> InputError:
    """Turn a pydantic ``ValidationError`` on data read from a file into an :class:`InputError` that quotes nothing.

    Unlike :func:`gridsage.errors.from_validation_error`, no input value is
    shown, and no key of the document that the schema does not have: an
    unknown key is reported at its parent (with the schema name it most
    resembles, e.g. ``did you mean 'events'?``), a key inside a mapping field
    as ``<key>``.  The message names schema fields, positions and what was
    expected, so it can be returned to a client who should not read the file.

    Parameters
    ----------
    exc : pydantic.ValidationError
    data : object
        The document validated (to tell the file's keys from the schema's).
    model : type of pydantic.BaseModel
        The model validated against.
    prefix : str, default ''
        Field path prepended to every location, e.g. ``'scenario'``.
    fix : str, optional
        Fix of the error; default: correct the named fields.

    Returns
    -------
    InputError
        ``field`` is the first failing location.
    """
    names = _schema_names(model)
    problems: list[tuple[str, str]] = []
    for err in exc.errors(include_input=False, include_url=False):
        loc, node, parts = list(err.get("loc", ())), data, []
        for part in loc:
            if isinstance(part, int):
                parts.append(part)
                node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            elif isinstance(node, dict) and part in node:  # a key of the document: shown only if the schema has it
                parts.append(part if part in names else "<key>")
                node = node[part]
            elif node is None and part not in names and part not in UNION_TAGS:  # lost track of the document
                parts.append("<key>")
            else:  # pydantic's own step: a union member or tag
                parts.append(part)
        kind = err.get("type")
        message = err.get("msg", "invalid")
        if kind == "extra_forbidden":  # at the key's parent, never naming the key; a schema name it resembles is safe
            close = difflib.get_close_matches(str(loc[-1]) if loc else "", sorted(names), n=1, cutoff=0.75)
            parts = parts[:-1]
            message = "unknown key (not in the schema)" + (f"; did you mean {close[0]!r}?" if close else "")
        elif kind == "union_tag_invalid":
            ctx = err.get("ctx") or {}
            message = (f"unknown {ctx.get('discriminator', 'type')}; use one of {ctx.get('expected_tags', '')}"
                       .replace("'", ""))
        kept = [p for i, p in enumerate(parts)
                if not (p in UNION_TAGS and i and isinstance(parts[i - 1], int))]
        text = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in kept).replace(".[", "[")
        where = f"{prefix}.{text}" if prefix and text else (prefix or text)
        problems.append((where, message))
    if not problems:
        problems.append((prefix, "invalid"))
    first = problems[0][0] or None
    message = problems[0][1] if len(problems) == 1 else "; ".join(f"{w or 'input'}: {m}" for w, m in problems[:20])
    if len(problems) > 20:
        message += f"; and {len(problems) - 20} more"
    return InputError(message, field=first, fix=fix or "correct the named field(s) to the type and range the schema "
                                                         "documents.")


def parse_problem(exc: Exception) -> str:
    """What kind of parse failure ``exc`` is, in words that quote nothing from the file.

    Parameters
    ----------
    exc : Exception
        What reading a CSV or JSON-lines file raised (``UnicodeDecodeError``, a pandas parser error or warning, ...).

    Returns
    -------
    str
        E.g. ``'line 7 has 4 fields where the header has 3'``: counts and line numbers, never a cell.
    """
    import pandas as pd

    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text at byte {exc.start}"
    if isinstance(exc, pd.errors.ParserWarning):
        return "a row has more fields than the header"
    if isinstance(exc, pd.errors.ParserError):  # pandas' tokenizer names counts and a line number, never a cell
        import re

        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            return f"line {found[2]} has {found[3]} fields where the header has {found[1]}"
        line = re.search(r"\b(?:line|row) (\d+)", str(exc))
        return "rows with differing numbers of fields, or an unclosed quote" + (f", at line {line[1]}" if line else "")
    return "malformed"
