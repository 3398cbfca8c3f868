"""What every tool shares: the result base model, the ``@tool`` decorator, and the limit-override arguments.

The decorator validates arguments with pydantic (so direct Python calls get
the same checking as MCP and agent calls), turns validation failures into a
typed :class:`~gridsage.errors.InputError`, and records the result in
the current workspace's evidence ledger, setting its ``evidence_id``.
"""

from __future__ import annotations

import functools
import inspect
from typing import Annotated, Any, Callable, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_jsonable_python

from gridsage.errors import InputError, from_validation_error
from gridsage.tools.workspace import current_workspace

R = TypeVar("R", bound="ToolResult")

#: tool arguments that override the default limits (shared by every tool that checks limits: grid and telemetry)
VmMinPu = Annotated[float | None, Field(gt=0.5, lt=1.5, allow_inf_nan=False, description="Lower voltage limit [pu]; default the standards-corpus figure of ANSI C84.1 Range A (0.95 unless configured).")]
VmMaxPu = Annotated[float | None, Field(gt=0.5, lt=1.5, allow_inf_nan=False, description="Upper voltage limit [pu]; default the standards-corpus figure of ANSI C84.1 Range A (1.05 unless configured).")]
MaxLoadingPercent = Annotated[float | None, Field(gt=0, le=500, allow_inf_nan=False, description="Thermal limit [% of rating]; default the standards-corpus figure of NERC TPL-001 Table 1 (100 unless configured).")]



class ToolResult(BaseModel):
    """Fields every tool result carries."""

    model_config = ConfigDict(extra="forbid")

    status: str = Field(description="Outcome, e.g. 'ok', 'converged', 'diverged'.")
    evidence_id: str = Field(default="", description="Ledger id of this result, e.g. 'ev-0007'.")

    def compact(self) -> "ToolResult":
        """The view the adapters send to models and MCP clients: this result itself, unless its type bounds it.

        A result type whose full form can grow with the grid overrides this, returning a smaller
        :class:`ToolResult` (see :mod:`gridsage.tools.views`) whose return annotation adapters publish as the
        tool's output schema; the full result stays in the evidence ledger.
        """
        return self

    def one_line(self) -> str:
        """The result in one line, for MCP's text block beside the structure: ``'converged, 7 violations [ev-0006]'``."""
        return f"{self.status} [{self.evidence_id}]"


def tool(fn: Callable[..., R] | None = None, *, record: bool = True) -> Callable[..., R]:
    """Make a typed function a GridSage tool, named after the function.

    Parameters
    ----------
    fn : callable
        A function with annotated arguments returning a :class:`ToolResult`.
    record : bool, default True
        Record each result in the evidence ledger.  False only for a tool that reads the ledger itself
        (its result keeps the ``evidence_id`` it sets: the record it read).

    Returns
    -------
    callable
        The wrapped function.  It keeps its signature (adapters derive their
        schemas from it), validates its arguments, and returns its result
        with ``evidence_id`` set; the ledger records it under ``fn.__name__``,
        the same name every adapter uses.  Publish it by adding it to
        :func:`gridsage.tools.toolset.toolset`.  Used as ``@tool(record=False)``
        it returns the decorator.
    """
    if fn is None:
        return functools.partial(tool, record=record)
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
        if record:
            bound.apply_defaults()
            inputs = to_jsonable_python(dict(bound.arguments), fallback=str)
            result.evidence_id = current_workspace().ledger.record(name, inputs, result)
        return result

    wrapper.__gridsage_tool__ = True  # the toolset test finds every tool by this mark
    return wrapper


def finite_values(values, field: str, minimum: float | None = None):
    """``values`` as a 1-D float array [unit of the input]; an InputError names the first non-finite or too-small element.

    Parameters
    ----------
    values : float or array_like
    field : str
        Argument name for the error, e.g. ``'load_pu'`` (reported as ``load_pu[3]``).
    minimum : float, optional
        Smallest value accepted [unit of the input].

    Raises
    ------
    InputError
        If an element is NaN, infinite or below ``minimum``.
    """
    import numpy as np

    arr = np.atleast_1d(np.asarray(values, dtype=float))
    bad = np.flatnonzero(~np.isfinite(arr) | (arr < (-np.inf if minimum is None else minimum)))
    if bad.size:
        i = int(bad[0])
        need = "a finite number" + ("" if minimum is None else f" >= {minimum:g}")
        raise InputError(f"{arr[i]!r} is not {need}", field=f"{field}[{i}]" if np.ndim(values) else field,
                         fix=f"give {need} for every interval (fill gaps in the data first).")
    return arr
