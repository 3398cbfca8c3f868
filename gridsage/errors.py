"""The GridSage exception hierarchy.

Every error names the offending field and says how to fix it, so that a CLI
user, an MCP client (as a tool error with ``isError``) and a Python caller all
read the same actionable message.
"""

from __future__ import annotations


class GridSageError(Exception):
    """Root of all GridSage errors.

    Parameters
    ----------
    message : str
        What went wrong, in one sentence.
    field : str, optional
        Dotted path of the input field at fault, e.g. ``events[2].element``.
    fix : str, optional
        What the user should do next.
    """

    def __init__(self, message: str, *, field: str | None = None, fix: str | None = None):
        self.message = message
        self.field = field
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        hint = f" Fix: {self.fix}" if self.fix else ""
        return f"{where}{self.message}{hint}"

    def to_dict(self) -> dict[str, str | None]:
        """Machine-readable form: error type, field, message and fix."""
        return {"error": type(self).__name__, "field": self.field, "message": self.message, "fix": self.fix}


class InputError(GridSageError):
    """An argument, scenario entry or file content is invalid."""


class UnknownGridError(InputError):
    """A grid name, file or ``grid_id`` cannot be resolved."""


class UnknownElementError(InputError):
    """A bus, line, trafo, gen or load index does not exist in the grid."""


class RequestTooLargeError(InputError):
    """A request asks for more work or output than the configured bound allows."""


class ScenarioError(InputError):
    """A scenario file is malformed or refers to something that does not exist."""


class SolverError(GridSageError):
    """A computation could not produce a usable result (reported, never hidden)."""


#: type tags of discriminated unions (events, actions); pydantic puts them in error paths, we leave them out
UNION_TAGS: set[str] = set()


def _path(loc: tuple, prefix: str) -> str:
    parts = [p for i, p in enumerate(loc) if not (p in UNION_TAGS and i and isinstance(loc[i - 1], int))]
    text = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in parts).replace(".[", "[")
    return f"{prefix}.{text}" if prefix and text else (prefix or text)


def from_validation_error(exc: "pydantic.ValidationError", prefix: str = "") -> InputError:  # noqa: F821
    """Turn a pydantic ``ValidationError`` into an :class:`InputError`.

    Parameters
    ----------
    exc : pydantic.ValidationError
        The validation failure.
    prefix : str, default ''
        Field path prepended to every location (e.g. ``'scenario'``).

    Returns
    -------
    InputError
        One error naming every failing field; ``field`` holds the first one.
    """
    problems = []
    fields = []
    for err in exc.errors():
        path = _path(err["loc"], prefix)
        fields.append(path)
        given = err.get("input")
        shown = "" if isinstance(given, (dict, list)) else f" (got {given!r})"
        problems.append((path, f"{err['msg']}{shown}"))
    first_field = fields[0] if fields else None
    if len(problems) == 1:
        message = problems[0][1]
    else:
        message = "; ".join(f"{path or 'input'}: {msg}" for path, msg in problems)
    return InputError(
        message,
        field=first_field,
        fix="correct the named field(s) to the type and range the tool's schema documents.",
    )


class GraphUnavailableError(GridSageError):
    """The topology graph database cannot be reached or started."""


class GraphQueryError(GridSageError):
    """A graph read or write failed (a failed write batch is rolled back)."""


class CorpusError(InputError):
    """A standards-corpus entry is malformed; ``field`` is ``<file>: <front-matter field>``."""


class UnknownEntryError(InputError):
    """A standards-corpus entry id does not exist."""


class KnowledgeIndexError(GridSageError):
    """The standards index could not be built, opened or queried."""
