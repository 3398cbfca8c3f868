"""Grounding check: every number with a unit in an answer must come from the evidence.

An LLM must never produce grid numbers (fewer than 54 % of LLM-computed power
flows land within 5 % of the true value [1]_).  After each answer, every
number followed by an engineering unit is looked up among the numbers of the
evidence ledger (tool inputs and results) and of the user's own question; a
number matches when it equals one of them to the precision it is written
with (``184.3 %`` matches 184.34, not 184.4).  Numbers that match nothing are
reported as ungrounded, flagged to the user and counted by the evaluation.

References
----------
.. [1] Published LLM power-flow evaluations as quoted in GridSage issue 5:
   at best 54 % of LLM-computed power flows within 5 %; tool selection 84 %
   on IEEE-118 (PowerAgentBench).
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, Field

#: units GridSage's tools report, longest first so 'MVAr' wins over 'MVA'
UNITS = ("p.u.", "MVAr", "Mvar", "MVAR", "MVA", "MWh", "MW", "kVA", "kV", "kA", "pu", "Hz", "°C", "ppm", "ms", "min",
         "%", "s", "h", "A", "V")
_NUM = r"[-+−]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[-+−]?\d+(?:\.\d+)?"
_UNIT = "|".join(re.escape(u) for u in UNITS)
#: a number with its unit, or a range 'a-b unit' / 'a to b unit' (both ends carry the unit)
_NUMBER = re.compile(rf"(?<![\w.])({_NUM})(?:\s?(?:-|–|to)\s?({_NUM}))?\s?({_UNIT})(?![\w])")


class NumberCheck(BaseModel):
    """One number with a unit found in an answer."""

    text: str = Field(description="As written, e.g. '184.3 %'.")
    value: float
    unit: str
    grounded: bool


class GroundingReport(BaseModel):
    """Which numbers of an answer the evidence supports."""

    checked: int = Field(description="Numbers with a unit found.")
    grounded: int
    ungrounded: list[str] = Field(description="Numbers no evidence supports, as written.")
    rate: float = Field(description="grounded / checked [0..1]; 1 when nothing was checked.")
    numbers: list[NumberCheck]


#: unit as written -> unit token as it appears in GridSage field names (pandapower style: p_mw, vm_pu, ...)
FAMILY = {"%": "percent", "MW": "mw", "MWh": "mwh", "Mvar": "mvar", "MVAr": "mvar", "MVAR": "mvar", "MVA": "mva",
          "kVA": "kva", "pu": "pu", "p.u.": "pu", "kV": "kv", "kA": "ka", "Hz": "hz", "°C": "c", "ppm": "ppm", "ms": "ms",
          "s": "s", "min": "min", "h": "h", "A": "a", "V": "v"}
#: unit words in field names -> unit token (``hours_faa_above_1`` is in hours)
WORD_UNIT = {"hours": "h", "seconds": "s", "minutes": "min"}
#: the unit of unit-less 'value'/'limit'/'before'/'after' fields, from a sibling 'kind' (violations, effects)
KIND_UNIT = {"thermal": "percent", "undervoltage": "pu", "overvoltage": "pu"}


def numbers_in(data: Any, unit: str | None = None) -> Iterable[tuple[str, float]]:
    """Every finite number in a JSON-like structure, with the unit token its field name carries.

    A field's unit is read from its name (``loading_percent`` -> ``percent``,
    ``p_mw`` -> ``mw``, ``vm_pu`` -> ``pu``, ``hours_faa_above_1`` -> ``h``), from a sibling ``unit`` or
    ``kind`` field for unit-less names (``value``, ``limit``), or from the
    unit written after a number inside a string.  Numbers with no known unit
    (indices, counts) are not returned: they cannot ground a number with a unit.
    """
    if isinstance(data, bool) or data is None:
        return
    if isinstance(data, (int, float)):
        if unit and math.isfinite(data):
            yield unit, float(data)
    elif isinstance(data, dict):
        sibling = FAMILY.get(data.get("unit")) if isinstance(data.get("unit"), str) else KIND_UNIT.get(data.get("kind"))
        for key, value in data.items():
            tokens = [WORD_UNIT.get(t, t) for t in str(key).lower().split("_")]
            own = next((t for t in reversed(tokens) if t in FAMILY.values()), None)
            yield from numbers_in(value, own or unit or sibling)
    elif isinstance(data, (list, tuple)):
        for value in data:
            yield from numbers_in(value, unit)
    elif isinstance(data, str):
        for match in _NUMBER.finditer(data):
            for raw in filter(None, match.group(1, 2)):
                yield FAMILY[match.group(3)], float(raw.replace(",", "").replace("−", "-"))


def check_grounding(text: str, evidence: Iterable[Any], given: str = "") -> GroundingReport:
    """Check every number-with-unit in ``text`` against the evidence.

    Parameters
    ----------
    text : str
        The answer (all of its prose, claims and actions).
    evidence : iterable
        JSON-like tool inputs and results (e.g. ``record.model_dump()`` of
        each evidence record); see :func:`numbers_in` for how each number's
        unit is known.
    given : str, default ''
        The user's question: numbers the user supplied count as grounded.

    Returns
    -------
    GroundingReport
        A number written with d decimals and a unit is grounded when some
        evidence value v of the same unit satisfies ``||x| - |v|| <= 0.5 * 10**-d`` (plus 1e-9); magnitudes are
        compared because prose often states a sign in words ("12 MW import").
    """
    pools: dict[str, set[float]] = {}
    for family, value in [pair for record in evidence for pair in numbers_in(record)] + list(numbers_in(given)):
        pools.setdefault(family, set()).add(abs(value))
    sorted_pools = {family: sorted(values) for family, values in pools.items()}
    checks = []
    for match in _NUMBER.finditer(text):
        unit = match.group(3)
        for raw in filter(None, match.group(1, 2)):
            number = raw.replace(",", "").replace("−", "-")
            decimals = len(number.split(".")[1]) if "." in number else 0
            value = float(number)
            tolerance = 0.5 * 10 ** -decimals + 1e-9
            values = sorted_pools.get(FAMILY[unit], [])
            i = bisect.bisect_left(values, abs(value) - tolerance)
            grounded = i < len(values) and values[i] <= abs(value) + tolerance
            checks.append(NumberCheck(text=f"{raw} {unit}", value=value, unit=unit, grounded=grounded))
    good = sum(c.grounded for c in checks)
    return GroundingReport(checked=len(checks), grounded=good, ungrounded=[c.text for c in checks if not c.grounded],
                           rate=round(good / len(checks), 4) if checks else 1.0, numbers=checks)
