"""What every tool shares: the result base model and the ``@tool`` decorator.

The decorator validates arguments with pydantic (so direct Python calls get
the same checking as MCP and agent calls), turns validation failures into a
typed :class:`~gridsage.errors.InputError`, and records the result in
the current workspace's evidence ledger, setting its ``evidence_id``.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_jsonable_python

from gridsage.errors import from_validation_error
from .workspace import current_workspace

R = TypeVar("R", bound="ToolResult")


class ToolResult(BaseModel):
    """Fields every tool result carries."""

    model_config = ConfigDict(extra="forbid")

    status: str = Field(description="Outcome, e.g. 'ok', 'converged', 'diverged'.")
    evidence_id: str = Field(default="", description="Ledger id of this result, e.g. 'ev-0007'.")


def tool(fn: Callable[..., R]) -> Callable[..., R]:
    """Make a typed function a GridSage tool, named after the function.

    Parameters
    ----------
    fn : callable
        A function with annotated arguments returning a :class:`ToolResult`.

    Returns
    -------
    callable
        The wrapped function.  It keeps its signature (adapters derive their
        schemas from it), validates its arguments, and returns its result
        with ``evidence_id`` set; the ledger records it under ``fn.__name__``,
        the same name every adapter uses.
    """
    name = fn.__name__
    validated = pydantic.validate_call(fn)
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> R:
        bound = signature.bind(*args, **kwargs)  # by name, so a validation error names the argument
        try:
            result = validated(**bound.arguments)
        except pydantic.ValidationError as exc:
            if exc.title != name:  # a bug inside the tool, not bad input
                raise
            raise from_validation_error(exc) from None
        bound.apply_defaults()
        inputs = to_jsonable_python(dict(bound.arguments), fallback=str)
        result.evidence_id = current_workspace().ledger.record(name, inputs, result)
        return result

    return wrapper
