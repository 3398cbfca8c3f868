"""The operating limits GridSage applies, each traced to a standard clause.

Tools read their defaults from here, and every violation they report carries
the :class:`Citation` of the limit it breaks.  Callers may override a value
(for example a tighter voltage band); the citation then says so.

References
----------
.. [1] ANSI C84.1-2020, "American National Standard for Electric Power
   Systems and Equipment - Voltage Ratings (60 Hz)", Table 1, Range A.
.. [2] NERC TPL-001-5.1, "Transmission System Planning Performance
   Requirements", Table 1 (steady-state performance for P0 and P1 events).
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Citation(BaseModel):
    """Where a limit or rule comes from."""

    standard: str = Field(description="Standard or source, e.g. 'ANSI C84.1'.")
    edition: str = Field(description="Edition or year, e.g. '2020'.")
    clause: str = Field(description="Clause, table or section, e.g. 'Table 1, Range A'.")
    note: str | None = Field(default=None, description="How GridSage applies it, in one sentence.")

    def short(self) -> str:
        """``'ANSI C84.1-2020 Table 1, Range A'`` style reference."""
        return f"{self.standard}-{self.edition} {self.clause}"


class Limit(BaseModel):
    """One limit: a quantity, its bound(s) and unit, and its citation."""

    name: str = Field(description="Identifier, e.g. 'voltage_band'.")
    quantity: str = Field(description="Quantity checked, in pandapower terms, e.g. 'vm_pu'.")
    lower: float | None = Field(default=None, description="Lower bound [unit].")
    upper: float | None = Field(default=None, description="Upper bound [unit].")
    unit: str = Field(description="Unit of the bounds, e.g. 'pu' or '%'.")
    citation: Citation


VOLTAGE_BAND = Limit(
    name="voltage_band",
    quantity="vm_pu",
    lower=0.95,
    upper=1.05,
    unit="pu",
    citation=Citation(
        standard="ANSI C84.1",
        edition="2020",
        clause="Table 1, Range A",
        note="Range A keeps service voltage within +/-5 % of nominal; applied to every in-service bus.",
    ),
)

THERMAL_NORMAL = Limit(
    name="thermal_normal",
    quantity="loading_percent",
    upper=100.0,
    unit="%",
    citation=Citation(
        standard="NERC TPL-001",
        edition="5.1",
        clause="Table 1, steady state (P0 and P1)",
        note=(
            "Branch loading must stay within the facility rating; the case's normal rating "
            "(MATPOWER RATE_A, pandapower max_i_ka or sn_mva) is used, as no emergency rating is given."
        ),
    ),
)


def voltage_band(vm_min_pu: float | None = None, vm_max_pu: float | None = None) -> Limit:
    """The voltage band to apply, defaulting to ANSI C84.1 Range A.

    Parameters
    ----------
    vm_min_pu : float, optional
        Lower bound [pu]; default 0.95.
    vm_max_pu : float, optional
        Upper bound [pu]; default 1.05.

    Returns
    -------
    Limit
        The band, citing ANSI C84.1-2020 Table 1 Range A; an overridden band
        says so in its citation note.
    """
    lower = VOLTAGE_BAND.lower if vm_min_pu is None else vm_min_pu
    upper = VOLTAGE_BAND.upper if vm_max_pu is None else vm_max_pu
    if (lower, upper) == (VOLTAGE_BAND.lower, VOLTAGE_BAND.upper):
        return VOLTAGE_BAND
    note = f"User band {lower:.3f}-{upper:.3f} pu in place of Range A's 0.95-1.05 pu."
    return VOLTAGE_BAND.model_copy(
        update={"lower": lower, "upper": upper, "citation": VOLTAGE_BAND.citation.model_copy(update={"note": note})}
    )


def thermal_limit(max_loading_percent: float | None = None) -> Limit:
    """The branch thermal limit to apply, defaulting to 100 % of the rating.

    Parameters
    ----------
    max_loading_percent : float, optional
        Upper bound [% of rating]; default 100.

    Returns
    -------
    Limit
        The limit, citing NERC TPL-001-5.1 Table 1.
    """
    if max_loading_percent is None or max_loading_percent == THERMAL_NORMAL.upper:
        return THERMAL_NORMAL
    note = f"User limit {max_loading_percent:.1f} % of rating in place of 100 %."
    return THERMAL_NORMAL.model_copy(
        update={"upper": max_loading_percent, "citation": THERMAL_NORMAL.citation.model_copy(update={"note": note})}
    )
