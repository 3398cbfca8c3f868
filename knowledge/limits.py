"""The operating limits GridSage applies, each traced to a standard clause.

The figures live in the standards corpus (:mod:`gridsage.knowledge.corpus`):
this module reads them from the entries named below, so the corpus is the one
source of truth.  A utility may override a figure for all tools with a YAML
file named by ``GRIDSAGE_LIMITS_FILE``::

    ansi-c84-1-range-a:
      vm_pu_min: 0.93

(read once per process), and a caller may override a value for one call (for example a tighter voltage
band).  Either way the citation's note says so.  Every violation a tool
reports carries the :class:`Citation` of the limit it breaks.

References
----------
.. [1] ANSI C84.1-2020, "American National Standard for Electric Power
   Systems and Equipment - Voltage Ratings (60 Hz)", Table 1, Range A.
.. [2] NERC TPL-001-5.1, "Transmission System Planning Performance
   Requirements", Table 1 (steady-state performance for P0 and P1 events).
"""

from __future__ import annotations

import functools
from pathlib import Path

from pydantic import BaseModel, Field

from gridsage.errors import CorpusError, UnknownEntryError

from .citation import Citation
from .corpus import CorpusEntry, entry_files, entry_path, get_entry
from .settings import KnowledgeSettings


class Limit(BaseModel):
    """One limit: a quantity, its bound(s) and unit, and its citation."""

    name: str = Field(description="Identifier, e.g. 'voltage_band'.")
    quantity: str = Field(description="Quantity checked, in pandapower terms, e.g. 'vm_pu'.")
    lower: float | None = Field(default=None, description="Lower bound [unit].")
    upper: float | None = Field(default=None, description="Upper bound [unit].")
    unit: str = Field(description="Unit of the bounds, e.g. 'pu' or '%'.")
    citation: Citation


#: corpus entry of the steady-state voltage band (figures vm_pu_min, vm_pu_max [pu])
VOLTAGE_ENTRY = "ansi-c84-1-range-a"
#: corpus entry of the branch thermal limit (figure loading_percent_max [%])
THERMAL_ENTRY = "nerc-tpl-001-facility-ratings"

_VOLTAGE_NOTE = "Range A keeps service voltage within +/-5 % of nominal; applied to every in-service bus."
_THERMAL_NOTE = ("Branch loading must stay within the facility rating; the case's normal rating "
                 "(MATPOWER RATE_A, pandapower max_i_ka or sn_mva) is used, as no emergency rating is given.")


@functools.lru_cache(maxsize=8)
def _overrides(path: Path | None) -> dict[str, dict[str, float]]:
    if path is None:
        return {}
    import yaml

    where = f"GRIDSAGE_LIMITS_FILE ({path})"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise CorpusError(f"the limits file cannot be read: {' '.join(str(exc).split())}", field=where,
                          fix="point GRIDSAGE_LIMITS_FILE at a YAML file of {entry_id: {figure: value}}, or unset it.") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise CorpusError("the limits file must map entry ids to {figure: value} mappings", field=where,
                          fix="write e.g. 'ansi-c84-1-range-a: {vm_pu_min: 0.93}'.")
    for entry_id, figures in data.items():
        for name, value in figures.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
                raise CorpusError(f"override {entry_id}.{name} must be a number (got {value!r})",
                                  field=f"{where}: {entry_id}.{name}", fix="give the figure as a plain number.")
    return data


def _unknown_override(entry: CorpusEntry, key: str, path: Path) -> CorpusError:
    """The error for a limits-file override of a figure ``entry`` lacks: it names the limits file, not the corpus."""
    import difflib

    valid = [k for k, v in entry.figures.items() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    near = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    return CorpusError(
        f"the limits file overrides {entry.id}.{key}, but entry {entry.id!r} has no figure {key!r}"
        f"{f' (did you mean {near[0]!r}?)' if near else ''}",
        field=f"GRIDSAGE_LIMITS_FILE ({path}): {entry.id}.{key}",
        fix=f"in {path}, under '{entry.id}:', spell the figure as one of: {', '.join(valid) or 'none'} "
            f"(or remove '{key}'); the corpus entry itself needs no change.")


@functools.lru_cache(maxsize=8)
def _check_entry_ids(path: Path, corpus_dir: Path) -> None:
    """Every entry id the limits file names must be a corpus entry: a misspelt id is an error, not a silent no-op."""
    import difflib

    for entry_id in _overrides(path):
        try:
            entry_path(str(entry_id), corpus_dir)
        except UnknownEntryError:
            ids = sorted(p.stem for p in entry_files(corpus_dir))
            near = difflib.get_close_matches(str(entry_id), ids, n=3, cutoff=0.6)
            raise CorpusError(f"the limits file overrides figures of {entry_id!r}, which is not a corpus entry",
                              field=f"GRIDSAGE_LIMITS_FILE ({path}): {entry_id}",
                              fix=f"in {path}, spell the entry id exactly"
                                  + (f" (did you mean: {', '.join(near)}?)" if near else "")
                                  + "; find ids with `gridsage knowledge search QUERY`.") from None


def figure(entry_id: str, name: str, settings: KnowledgeSettings | None = None) -> tuple[float, Citation, str | None]:
    """A numeric figure of a corpus entry, after any configured override.

    Parameters
    ----------
    entry_id : str
        Corpus entry, e.g. ``'ansi-c84-1-range-a'``.
    name : str
        Figure name with its unit, e.g. ``'vm_pu_min'``.
    settings : KnowledgeSettings, optional
        Default from the environment.

    Returns
    -------
    value : float
        The figure [unit in its name].
    citation : Citation
        The entry's citation.
    override : str or None
        ``'<name> <value> in place of <corpus value> (<file>)'`` when the
        limits file overrides it.

    Raises
    ------
    UnknownEntryError
        If the entry does not exist.
    CorpusError
        If the entry lacks the figure, or the limits file is malformed or
        overrides a figure the entry does not have (then ``field`` and
        ``fix`` name the limits file and list the entry's figure names), or
        names an entry id the corpus does not have.
    """
    settings = settings or KnowledgeSettings.from_env()
    entry = get_entry(entry_id, settings.corpus_dir)
    value = entry.figure(name)
    overrides = _overrides(settings.limits_file)
    if overrides:
        _check_entry_ids(settings.limits_file, settings.corpus_dir)
    overrides = overrides.get(entry_id, {})
    for key in overrides:  # an override of a figure the entry lacks is an error, not a silent no-op
        if key not in entry.figures:
            raise _unknown_override(entry, key, settings.limits_file)
    if name in overrides:
        return float(overrides[name]), entry.citation(), f"{name} {overrides[name]:g} in place of {value:g} ({settings.limits_file})"
    return float(value), entry.citation(), None


def corpus_entry(entry_id: str) -> "CorpusEntry":
    """A corpus entry by id from the configured corpus folder (``GRIDSAGE_CORPUS_DIR``).

    Raises
    ------
    UnknownEntryError
        If the entry does not exist.
    """
    return get_entry(entry_id, KnowledgeSettings.from_env().corpus_dir)


def with_note(citation: Citation, note: str, changes: list[str]) -> Citation:
    """``citation`` with ``note`` (how GridSage applies it), plus any configured overrides in ``changes``."""
    text = note if not changes else f"{note} Configured: {'; '.join(changes)}."
    return citation.model_copy(update={"note": text})


def voltage_band(vm_min_pu: float | None = None, vm_max_pu: float | None = None) -> Limit:
    """The voltage band to apply: ANSI C84.1 Range A from the corpus, unless overridden.

    Parameters
    ----------
    vm_min_pu : float, optional
        Lower bound for this call [pu]; default the corpus figure (0.95).
    vm_max_pu : float, optional
        Upper bound for this call [pu]; default the corpus figure (1.05).

    Returns
    -------
    Limit
        The band, citing ANSI C84.1-2020 Table 1 Range A (entry
        ``ansi-c84-1-range-a``); an overridden band says so in its note.

    Raises
    ------
    CorpusError
        If the corpus entry or the limits file is malformed.

    References
    ----------
    .. [1] ANSI C84.1-2020, Table 1, Range A.
    """
    lower, citation, low_over = figure(VOLTAGE_ENTRY, "vm_pu_min")
    upper, _, high_over = figure(VOLTAGE_ENTRY, "vm_pu_max")
    citation = with_note(citation, _VOLTAGE_NOTE, [c for c in (low_over, high_over) if c])
    if vm_min_pu is not None or vm_max_pu is not None:
        given = (lower if vm_min_pu is None else vm_min_pu, upper if vm_max_pu is None else vm_max_pu)
        if given != (lower, upper):
            note = f"User band {given[0]:.3f}-{given[1]:.3f} pu in place of {lower:.3f}-{upper:.3f} pu."
            citation, (lower, upper) = citation.model_copy(update={"note": note}), given
    return Limit(name="voltage_band", quantity="vm_pu", lower=lower, upper=upper, unit="pu", citation=citation)


def thermal_limit(max_loading_percent: float | None = None) -> Limit:
    """The branch thermal limit to apply: 100 % of the facility rating from the corpus, unless overridden.

    Parameters
    ----------
    max_loading_percent : float, optional
        Upper bound for this call [% of rating]; default the corpus figure (100).

    Returns
    -------
    Limit
        The limit, citing NERC TPL-001-5.1 Table 1 (entry
        ``nerc-tpl-001-facility-ratings``).

    Raises
    ------
    CorpusError
        If the corpus entry or the limits file is malformed.

    References
    ----------
    .. [1] NERC TPL-001-5.1, Table 1, steady-state performance.
    """
    upper, citation, over = figure(THERMAL_ENTRY, "loading_percent_max")
    citation = with_note(citation, _THERMAL_NOTE, [over] if over else [])
    if max_loading_percent is not None and max_loading_percent != upper:
        note = f"User limit {max_loading_percent:.1f} % of rating in place of {upper:.1f} %."
        citation, upper = citation.model_copy(update={"note": note}), max_loading_percent
    return Limit(name="thermal_normal", quantity="loading_percent", upper=upper, unit="%", citation=citation)


def cite(entry_id: str, note: str | None = None) -> Citation:
    """The citation of a corpus entry (from the configured corpus folder).

    Parameters
    ----------
    entry_id : str
        e.g. ``'nerc-tpl-001-p1-single-contingency'``.
    note : str, optional
        How GridSage applies it, in one sentence.

    Raises
    ------
    UnknownEntryError
        If the corpus has no such entry.
    """
    return get_entry(entry_id, KnowledgeSettings.from_env().corpus_dir).citation(note)
