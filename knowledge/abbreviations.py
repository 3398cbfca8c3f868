"""Abbreviations and shorthand of the field, expanded in search queries.

Operators type ``FAA @ 140``, ``THDv 230 kV`` or ``DER OF2 default``; the
corpus spells these out ("ageing acceleration factor", "voltage total
harmonic distortion", "overfrequency trip setting").  The map in
``abbreviations.yaml`` (shipped beside this module) pairs each abbreviation
with its expansion; :func:`expand_query` appends the expansions of the
abbreviations found in a query to it, so the query keeps its own words (the
expansion never replaces them).

Matching is by whole token, case-insensitive unless the entry says
``match_case: true`` (keys that are also ordinary words, e.g. ``TOP``,
``MED``).  A key ending in a letter also matches with a trailing index number
(``CEMI4`` -> ``CEMI``, ``CELID12`` -> ``CELID``).  Importing this module is
cheap; the map is read on first use.

References
----------
.. [1] IEEE Std 1366-2012, Guide for Electric Power Distribution Reliability
   Indices (SAIDI, SAIFI, CAIDI, CEMIn, CELID, MED).
.. [2] IEEE Std C57.91-2011, Guide for Loading Mineral-Oil-Immersed
   Transformers (F_AA, F_EQA, cooling modes ONAN/ONAF/OFAF).
.. [3] IEEE Std 519-2014 (THD, TDD, PCC); IEEE Std 1547-2018 (OF1/OF2,
   UF1/UF2, OV/UV trip settings); NERC TPL-001-5.1 Table 1 (P0-P7).
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from dataclasses import dataclass
from pathlib import Path

from gridsage.errors import InputError

#: the shipped map, in the ``gridsage.knowledge`` package
ABBREVIATIONS_FILE = "abbreviations.yaml"
_WORD = r"A-Za-z0-9_"


@dataclass(frozen=True)
class Abbreviation:
    """One abbreviation of the map.

    Parameters
    ----------
    key : str
        The abbreviation as written, e.g. ``'THDv'``.
    expansion : str
        Words appended to a query that contains it.
    match_case : bool
        Match only as written (for keys that are also ordinary words).
    """

    key: str
    expansion: str
    match_case: bool = False


def _pattern(item: Abbreviation) -> re.Pattern[str]:
    suffix = r"\d*" if item.key[-1].isalpha() else ""
    return re.compile(rf"(?<![{_WORD}]){re.escape(item.key)}{suffix}(?![{_WORD}])", 0 if item.match_case else re.IGNORECASE)


def parse_abbreviations(data: object, source: str = ABBREVIATIONS_FILE) -> list[Abbreviation]:
    """Validate a loaded map: ``{key: expansion}`` or ``{key: {expand: ..., match_case: bool}}``.

    Raises
    ------
    InputError
        If the map is not a mapping or an item is malformed (``field`` names the key).
    """
    if not isinstance(data, dict) or not data:
        raise InputError(f"{source}: the abbreviation map must be a non-empty mapping", field="abbreviations",
                         fix="write items like 'THDv: voltage total harmonic distortion'.")
    items = []
    for key, value in data.items():
        match_case = False
        if isinstance(value, dict):
            match_case, value = value.get("match_case", False), value.get("expand")
        if not isinstance(key, str) or not key.strip() or not isinstance(value, str) or not value.strip() \
                or not isinstance(match_case, bool):
            raise InputError(f"{source}: malformed abbreviation {key!r}", field=f"abbreviations.{key}",
                             fix="give a non-empty expansion string, or {expand: text, match_case: true|false}.")
        items.append(Abbreviation(key.strip(), " ".join(value.split()), match_case))
    return items


@functools.lru_cache(maxsize=4)
def load_abbreviations(path: Path | None = None) -> tuple[Abbreviation, ...]:
    """The abbreviation map: ``path`` or the one shipped with GridSage.

    Raises
    ------
    InputError
        If the file cannot be read or parsed, or an item is malformed.
    """
    import yaml

    try:
        text = path.read_text(encoding="utf-8") if path else \
            importlib.resources.files("gridsage.knowledge").joinpath(ABBREVIATIONS_FILE).read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"the abbreviation map cannot be read: {' '.join(str(exc).split())}", field="abbreviations",
                         fix=f"restore {ABBREVIATIONS_FILE} (reinstall GridSage).") from None
    return tuple(parse_abbreviations(data, str(path or ABBREVIATIONS_FILE)))


@functools.lru_cache(maxsize=4)
def _compiled(path: Path | None = None) -> tuple[tuple[Abbreviation, re.Pattern[str]], ...]:
    return tuple((item, _pattern(item)) for item in load_abbreviations(path))


def expansions(text: str, path: Path | None = None) -> list[str]:
    """Expansions of the abbreviations in ``text``, in map order, each once.

    Parameters
    ----------
    text : str
        A query, e.g. ``'THDv 230 kV'``.
    path : pathlib.Path, optional
        Another map file; default the shipped one.

    Returns
    -------
    list of str
        E.g. ``['voltage total harmonic distortion harmonic voltage distortion limits']``.
    """
    found: list[str] = []
    for item, pattern in _compiled(path):
        if item.expansion not in found and pattern.search(text):
            found.append(item.expansion)
    return found


def expand_query(query: str, path: Path | None = None) -> str:
    """``query`` with the expansions of its abbreviations appended (the query itself is kept whole).

    Examples
    --------
    >>> expand_query("tau oil ONAN")
    'tau oil ONAN (oil natural air natural cooling transformer; time constant)'
    """
    found = expansions(query, path)
    return f"{query} ({'; '.join(found)})" if found else query
