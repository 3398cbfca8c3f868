"""Transformer thermal model: hot-spot and top-oil temperature, insulation ageing, limits by loading type.

The IEEE C57.91 Clause 7 model: top oil and winding hot spot move
exponentially towards the ultimate rises of each interval's load
(:func:`thermal_response`, with exponents by cooling mode and IEC 60076-7
time constants by default, :func:`thermal_constants`).  The Clause 5 ageing
acceleration factor F_AA (:func:`aging_acceleration_factor`) gives the
equivalent ageing F_EQA and the loss of life on the normal-insulation-life
basis (:func:`insulation_loss_of_life`), and the temperatures are checked
against the guide's suggested limits for the loading type
(:func:`loading_limits`).  The tool :func:`transformer_thermal` combines them
over a load profile, with the time to the first limit over an optional
projection.

Every figure taken from a standard is read from the standards corpus, and
every result carries the citations of the clauses it applies.

References
----------
.. [1] IEEE Std C57.91-2011, "IEEE Guide for Loading Mineral-Oil-Immersed
   Transformers and Step-Voltage Regulators": Clause 5 (ageing equations,
   F_AA, F_EQA, normal insulation life), Clause 7 (temperature equations and
   exponents), table of suggested temperature limits by loading type.
.. [2] IEC 60076-7:2018, "Power transformers - Part 7: Loading guide for
   mineral-oil-immersed power transformers": recommended thermal time constants.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from gridsage.errors import InputError, RequestTooLargeError
from gridsage.knowledge.citation import Citation
from gridsage.knowledge.limits import Limit, cite, corpus_entry, figure
from gridsage.tools.base import ToolResult, finite_values, tool

if TYPE_CHECKING:
    import numpy as np

#: corpus entries applied here
AGEING = "ieee-c57-91-aging-acceleration-factor"
EQUATIONS = "ieee-c57-91-top-oil-hot-spot-equations"
RATED = "ieee-c57-91-rated-hot-spot-temperature"
LIFE = "ieee-c57-91-equivalent-aging-loss-of-life"
LOADING_LIMITS = "ieee-c57-91-loading-beyond-nameplate-limits"
TIME_CONSTANTS = "iec-60076-7-thermal-time-constants"

#: intervals accepted per call (profile plus projection)
MAX_INTERVALS = 100_000

Cooling = Literal["ONAN", "ONAF", "OFAF", "ODAF"]
LoadingType = Literal["normal", "planned", "long_time_emergency", "short_time_emergency"]

#: cooling mode -> (suffix of the C57.91 exponent figures, IEC 60076-7 cooling group of the time constants)
_COOLING = {"ONAN": ("onan", "ONAN distribution"), "ONAF": ("onaf", "ONAF"),
            "OFAF": ("ofaf_non_directed", "OF"), "ODAF": ("odaf_directed", "OD")}
#: loading type -> (hot-spot limit figure, top-oil limit figure) of the C57.91 limits entry
_LIMIT_FIGURES = {
    "normal": ("theta_h_c_max_normal_life", "theta_to_c_max_normal_life"),
    "planned": ("theta_h_c_max_planned_beyond_nameplate", "theta_to_c_max_beyond_nameplate"),
    "long_time_emergency": ("theta_h_c_max_long_time_emergency", "theta_to_c_max_beyond_nameplate"),
    "short_time_emergency": ("theta_h_c_max_short_time_emergency", "theta_to_c_max_beyond_nameplate"),
}

Pu = Annotated[float, Field(ge=0, allow_inf_nan=False)]
AmbientC = Annotated[float, Field(ge=-60, le=60, allow_inf_nan=False)]
CoolingArg = Annotated[Cooling, Field(description="Cooling mode: sets the exponents n, m (IEEE C57.91) and default time constants (IEC 60076-7).")]
TopOilRise = Annotated[float, Field(gt=0, le=100, description="Rated top-oil rise over ambient Δθ_TO,R [K]; 55 K is a typical 65 °C-rise value, not a standard figure.")]
HotSpotRise = Annotated[float | None, Field(gt=0, le=100, description="Rated hot-spot rise over top oil Δθ_H,R [K]; default: the rated hot-spot rise over ambient (IEEE C57.91, 80 K) minus the top-oil rise.")]
LossRatio = Annotated[float, Field(gt=0, le=50, description="R, rated load loss over no-load loss [-]; 4.5 is a typical value, not a standard figure.")]
TauTopOil = Annotated[float | None, Field(gt=0, le=1000, description="Oil time constant τ_TO [min]; default: the IEC 60076-7 recommended value for the cooling mode.")]
TauWinding = Annotated[float | None, Field(gt=0, le=100, description="Winding time constant τ_W [min]; default: the IEC 60076-7 recommended value for the cooling mode.")]
RatedMva = Annotated[float | None, Field(gt=0, allow_inf_nan=False, description="Nameplate rating [MVA]; only scales the reported peak load.")]
LoadProfile = Annotated[list[Pu], Field(min_length=1, max_length=MAX_INTERVALS, description="Load K per interval [pu of rated].")]
Projection = Annotated[list[Pu] | None, Field(max_length=MAX_INTERVALS, description="Projected load after the profile [pu], same interval; only for time_to_limit_h.")]
Ambient = Annotated[list[AmbientC] | AmbientC, Field(description="Ambient temperature [°C]: one per interval of load_pu, or one value for all.")]
IntervalMin = Annotated[float, Field(gt=0, le=1440, description="Length of each interval [min].")]
LoadingTypeArg = Annotated[LoadingType, Field(description="IEEE C57.91 loading type: sets the hot-spot and top-oil limits.")]


class TransformerRating(BaseModel):
    """Thermal data of one transformer; ``None`` fields take their documented defaults from the corpus."""

    model_config = ConfigDict(extra="forbid")

    cooling: CoolingArg = "ONAN"
    rated_top_oil_rise_k: TopOilRise = 55
    rated_hot_spot_rise_k: HotSpotRise = None
    loss_ratio: LossRatio = 4.5
    tau_top_oil_min: TauTopOil = None
    tau_winding_min: TauWinding = None
    rated_mva: RatedMva = None


class ThermalConstants(NamedTuple):
    """The resolved Clause 7 constants of a :class:`TransformerRating`."""

    rated_top_oil_rise_k: float
    rated_hot_spot_rise_k: float
    loss_ratio: float
    n: float
    m: float
    tau_top_oil_min: float
    tau_winding_min: float


class ThermalProfile(NamedTuple):
    """Temperatures at the end of each interval: rises [K] and temperatures [°C]."""

    top_oil_rise_k: np.ndarray
    hot_spot_rise_k: np.ndarray
    theta_to_c: np.ndarray
    theta_h_c: np.ndarray


def thermal_constants(rated: TransformerRating) -> tuple[ThermalConstants, list[Citation]]:
    """Resolve a rating: exponents by cooling mode, and corpus defaults for the fields left ``None``.

    Parameters
    ----------
    rated : TransformerRating

    Returns
    -------
    constants : ThermalConstants
    citations : list of Citation
        The entries each constant came from.

    Raises
    ------
    InputError
        If the hot-spot rise is left to default and the top-oil rise is not
        below the rated hot-spot rise over ambient.

    References
    ----------
    .. [1] IEEE C57.91-2011, Clause 7 (exponents n, m by cooling mode); Clause 5
       (80 K rated hot-spot rise over ambient of 65 °C-rise units).
    .. [2] IEC 60076-7:2018, recommended thermal characteristics (τ_o, τ_w).
    """
    suffix, group = _COOLING[rated.cooling]
    n, m = figure(EQUATIONS, f"n_exponent_{suffix}")[0], figure(EQUATIONS, f"m_exponent_{suffix}")[0]
    citations = [cite(EQUATIONS, f"Clause 7 exponential model with {rated.cooling} exponents n = {n:g}, m = {m:g}.")]
    top_oil, hot_spot = rated.rated_top_oil_rise_k, rated.rated_hot_spot_rise_k
    if hot_spot is None:
        total = figure(RATED, "delta_theta_h_a_rated_k")[0]
        hot_spot = total - top_oil
        if hot_spot <= 0:
            raise InputError(f"the rated top-oil rise {top_oil:g} K leaves no hot-spot rise within the rated "
                             f"{total:g} K hot-spot rise over ambient", field="rated_hot_spot_rise_k",
                             fix="give the rated hot-spot rise over top oil from the heat-run test report.")
        citations.append(cite(RATED, f"Hot-spot rise over top oil taken as {total:g} K (rated hot-spot rise over "
                                     f"ambient) minus {top_oil:g} K = {hot_spot:g} K."))
    tau_to, tau_w = rated.tau_top_oil_min, rated.tau_winding_min
    if tau_to is None or tau_w is None:
        entry = corpus_entry(TIME_CONSTANTS)
        i = entry.figure("cooling_groups").index(group)
        tau_to = float(entry.figure("tau_o_min")[i]) if tau_to is None else tau_to
        tau_w = float(entry.figure("tau_w_min")[i]) if tau_w is None else tau_w
        citations.append(cite(TIME_CONSTANTS, f"Recommended {group} time constants where none was given: "
                                              f"τ_TO = {tau_to:g} min, τ_W = {tau_w:g} min."))
    return ThermalConstants(top_oil, hot_spot, rated.loss_ratio, n, m, tau_to, tau_w), citations


def _first_order(ultimate, start: float, dt_over_tau: float):
    """Exact exponential update per step: x_i = U_i + (x_{i-1} - U_i) exp(-dt/tau), as a linear filter."""
    import numpy as np
    from scipy.signal import lfilter

    a = float(np.exp(-dt_over_tau))
    return lfilter([1 - a], [1, -a], ultimate, zi=[a * start])[0]


def thermal_response(load_pu, ambient_c, dt_min: float, rated: TransformerRating,
                     initial: tuple[float, float] | None = None) -> ThermalProfile:
    """Top-oil and hot-spot temperatures over a load profile by the IEEE C57.91 Clause 7 equations.

    Parameters
    ----------
    load_pu : array_like
        Load K per interval [pu of rated], held constant within the interval.
    ambient_c : array_like or float
        Ambient temperature θ_A per interval, or one value [°C].
    dt_min : float
        Interval length [min].
    rated : TransformerRating
        Rated rises [K], loss ratio R [-], cooling mode and time constants [min].
    initial : tuple of float, optional
        Top-oil rise and hot-spot rise at the start (Δθ_TO,i, Δθ_H,i) [K];
        default the steady state at the first interval's load.

    Returns
    -------
    ThermalProfile
        Δθ_TO [K], Δθ_H [K], θ_TO = θ_A + Δθ_TO [°C] and θ_H = θ_TO + Δθ_H [°C]
        at the end of each interval.

    Raises
    ------
    InputError
        If a load is negative or not finite, an ambient is not finite, or the
        ambient list does not match the load.

    Notes
    -----
    Ultimate rises for load K: Δθ_TO,U = Δθ_TO,R·[(K²R + 1)/(R + 1)]^n and
    Δθ_H,U = Δθ_H,R·K^(2m).  Each rise moves towards its ultimate value
    exponentially, with τ_TO for top oil and τ_W for the hot-spot, updated
    exactly per interval: Δθ(t + dt) = Δθ_U + (Δθ(t) − Δθ_U)·exp(−dt/τ).

    References
    ----------
    .. [1] IEEE C57.91-2011, Clause 7 (temperature calculation equations).
    """
    import numpy as np

    k = finite_values(load_pu, "load_pu", minimum=0)
    ambient = finite_values(ambient_c, "ambient_c")
    if ambient.size not in (1, k.size):
        raise InputError(f"ambient_c has {ambient.size} values for {k.size} load intervals", field="ambient_c",
                         fix="give one ambient temperature per load interval, or a single value.")
    c, _ = thermal_constants(rated)
    top_oil_u = c.rated_top_oil_rise_k * ((k ** 2 * c.loss_ratio + 1) / (c.loss_ratio + 1)) ** c.n
    hot_spot_u = c.rated_hot_spot_rise_k * k ** (2 * c.m)
    start_to, start_h = (top_oil_u[0], hot_spot_u[0]) if initial is None else initial
    top_oil = _first_order(top_oil_u, start_to, dt_min / c.tau_top_oil_min)
    hot_spot = _first_order(hot_spot_u, start_h, dt_min / c.tau_winding_min)
    theta_to = np.broadcast_to(ambient, k.shape) + top_oil
    return ThermalProfile(top_oil, hot_spot, theta_to, theta_to + hot_spot)


def aging_acceleration_factor(theta_h_c):
    """Ageing acceleration factor F_AA of thermally upgraded paper at hot-spot θ_H.

    Parameters
    ----------
    theta_h_c : array_like or float
        Winding hottest-spot temperature θ_H [°C].

    Returns
    -------
    numpy.ndarray or float
        F_AA = exp(B/(θ_ref + 273) − B/(θ_H + 273)) [-], 1 at θ_ref = 110 °C,
        with B = 15 000 K (both from the corpus).

    References
    ----------
    .. [1] IEEE C57.91-2011, Clause 5 (insulation ageing equations).
    """
    import numpy as np

    b = figure(AGEING, "b_constant_k")[0]
    reference = figure(AGEING, "theta_h_ref_c")[0]
    return np.exp(b / (reference + 273) - b / (np.asarray(theta_h_c, dtype=float) + 273))


def insulation_loss_of_life(theta_h_c, interval_min: float) -> tuple[float, float]:
    """Equivalent ageing factor and percent loss of life over equal intervals of hot-spot temperature.

    Parameters
    ----------
    theta_h_c : array_like
        Hot-spot temperature θ_H per interval [°C].
    interval_min : float
        Interval length [min].

    Returns
    -------
    feqa : float
        F_EQA = Σ F_AA,n Δt_n / Σ Δt_n [-].
    loss_of_life_percent : float
        %LOL = F_EQA · t · 100 / normal insulation life, on the 180 000 h basis [%].

    References
    ----------
    .. [1] IEEE C57.91-2011, Clause 5 (equivalent ageing, loss of life, normal insulation life).
    """
    import numpy as np

    faa = np.atleast_1d(aging_acceleration_factor(theta_h_c))
    life_h = figure(LIFE, "normal_insulation_life_h")[0]
    feqa = float(faa.mean())
    return feqa, feqa * faa.size * interval_min / 60 * 100 / life_h


def _limit(name: str, quantity: str, figure_name: str, note: str) -> Limit:
    value, citation, override = figure(LOADING_LIMITS, figure_name)
    note += f" Configured: {override}." if override else ""
    return Limit(name=name, quantity=quantity, upper=value, unit="°C", citation=citation.model_copy(update={"note": note}))


def loading_limits(loading_type: LoadingType) -> list[Limit]:
    """The hot-spot and top-oil temperature limits of an IEEE C57.91 loading type.

    Parameters
    ----------
    loading_type : {'normal', 'planned', 'long_time_emergency', 'short_time_emergency'}

    Returns
    -------
    list of Limit
        ``hot_spot_<type>`` on ``theta_h_c`` and ``top_oil_<type>`` on ``theta_to_c`` [°C], cited.

    References
    ----------
    .. [1] IEEE C57.91-2011, table of suggested maximum temperature limits by loading type.
    """
    hot_spot, top_oil = _LIMIT_FIGURES[loading_type]
    kind = loading_type.replace("_", "-")
    return [_limit(f"hot_spot_{loading_type}", "theta_h_c", hot_spot, f"Winding hottest-spot limit for {kind} loading."),
            _limit(f"top_oil_{loading_type}", "theta_to_c", top_oil, f"Top-oil limit for {kind} loading.")]


class TransformerThermalResult(ToolResult):
    """Hot-spot and top-oil temperatures, insulation ageing and limit check over a load profile."""

    status: Literal["ok", "limit_exceeded"] = Field(description="'limit_exceeded' when the profile or projection exceeds a limit.")
    intervals: int = Field(description="Intervals in the profile (projection excluded).")
    duration_h: float = Field(description="Length of the profile [h].")
    rating: TransformerRating = Field(description="The rating applied, defaults resolved.")
    n_exponent: float = Field(description="Top-oil exponent n [-].")
    m_exponent: float = Field(description="Hot-spot exponent m [-].")
    peak_hot_spot_c: float = Field(description="Highest θ_H in the profile [°C].")
    peak_hot_spot_index: int = Field(description="Interval of the peak θ_H (its end), from 0.")
    peak_top_oil_c: float = Field(description="Highest θ_TO in the profile [°C].")
    peak_top_oil_index: int
    peak_load_mva: float | None = Field(default=None, description="Highest load [MVA], when rated_mva is given.")
    faa_max: float = Field(description="Highest ageing acceleration factor F_AA in the profile [-].")
    faa_min: float = Field(description="Lowest F_AA in the profile [-].")
    hours_faa_above_1: float = Field(description="Time ageing faster than normal (F_AA > 1) [h].")
    feqa: float = Field(description="Equivalent ageing factor F_EQA over the profile [-].")
    loss_of_life_percent: float = Field(description="Insulation loss of life over the profile [%].")
    normal_life_h: float = Field(description="Normal insulation life basis of loss_of_life_percent [h].")
    limits: list[Limit] = Field(description="Hot-spot and top-oil limits of the loading type, with citations.")
    time_to_limit_h: float | None = Field(description="End of the first interval (profile, then projection) exceeding a limit [h from the start]; None if none does.")
    limit_reached: str | None = Field(default=None, description="Name of the limit first exceeded.")
    notes: list[str] = Field(default_factory=list)
    citations: list[Citation]


@tool
def transformer_thermal(
    load_pu: LoadProfile,
    ambient_c: Ambient,
    interval_min: IntervalMin,
    cooling: CoolingArg = "ONAN",
    rated_top_oil_rise_k: TopOilRise = 55,
    rated_hot_spot_rise_k: HotSpotRise = None,
    loss_ratio: LossRatio = 4.5,
    tau_top_oil_min: TauTopOil = None,
    tau_winding_min: TauWinding = None,
    rated_mva: RatedMva = None,
    loading_type: LoadingTypeArg = "normal",
    projected_load_pu: Projection = None,
) -> TransformerThermalResult:
    """Hot-spot and top-oil temperature, insulation ageing and time to limit of a transformer over a load profile.

    Parameters
    ----------
    load_pu : list of float
        Load K per interval [pu of rated], at most :data:`MAX_INTERVALS`.
    ambient_c : list of float or float
        Ambient temperature per interval, or one value [°C].
    interval_min : float
        Interval length [min].
    cooling : {'ONAN', 'ONAF', 'OFAF', 'ODAF'}, default 'ONAN'
    rated_top_oil_rise_k : float, default 55
        Rated top-oil rise over ambient [K] (typical 65 °C-rise value).
    rated_hot_spot_rise_k : float, optional
        Rated hot-spot rise over top oil [K]; default 80 K minus the top-oil rise.
    loss_ratio : float, default 4.5
        Load loss over no-load loss at rated load R [-] (typical value).
    tau_top_oil_min, tau_winding_min : float, optional
        Time constants [min]; default IEC 60076-7 recommended values by cooling
        (ONAN: the distribution-transformer row, 180 and 4 min).
    rated_mva : float, optional
        Nameplate rating [MVA].
    loading_type : {'normal', 'planned', 'long_time_emergency', 'short_time_emergency'}, default 'normal'
    projected_load_pu : list of float, optional
        Load after the profile [pu]; the last ambient is held over it.

    Returns
    -------
    TransformerThermalResult
        Peaks of θ_H and θ_TO [°C], F_AA summary, F_EQA [-] and loss of life
        [%] over the profile, the limits applied and the time to the first
        limit exceeded [h] (profile then projection), with citations.

    Raises
    ------
    InputError
        If a load is negative or not finite, or the ambient list does not
        match the profile.
    RequestTooLargeError
        If profile and projection exceed :data:`MAX_INTERVALS` intervals.

    Notes
    -----
    The initial state is the steady state at the first interval's load and
    ambient.  Temperatures are evaluated at the end of each interval, so
    ``time_to_limit_h`` has a resolution of one interval.

    References
    ----------
    .. [1] IEEE C57.91-2011, Clause 7 (temperatures), Clause 5 (F_AA, F_EQA, %LOL on
       the 180 000 h basis), suggested temperature limits by loading type.
    .. [2] IEC 60076-7:2018, recommended thermal time constants.
    """
    import numpy as np

    rated = TransformerRating(cooling=cooling, rated_top_oil_rise_k=rated_top_oil_rise_k,
                              rated_hot_spot_rise_k=rated_hot_spot_rise_k, loss_ratio=loss_ratio,
                              tau_top_oil_min=tau_top_oil_min, tau_winding_min=tau_winding_min, rated_mva=rated_mva)
    constants, citations = thermal_constants(rated)
    projected = projected_load_pu or []
    if len(load_pu) + len(projected) > MAX_INTERVALS:
        raise RequestTooLargeError(f"{len(load_pu)} + {len(projected)} intervals exceed {MAX_INTERVALS}",
                                   field="projected_load_pu", fix="shorten the projection or use a longer interval.")
    ambient = np.atleast_1d(np.asarray(ambient_c, dtype=float))
    if isinstance(ambient_c, list) and len(ambient_c) != len(load_pu):
        raise InputError(f"ambient_c has {len(ambient_c)} values for {len(load_pu)} load intervals", field="ambient_c",
                         fix="give one ambient temperature per interval of load_pu, or a single value.")
    notes = ["Initial state: steady state at the first interval's load and ambient."]
    if projected and ambient.size > 1:
        ambient = np.concatenate([ambient, np.full(len(projected), ambient[-1])])
        notes.append(f"The projection holds the last ambient, {ambient[-1]:g} °C.")
    profile = thermal_response(list(load_pu) + list(projected), ambient, interval_min, rated)
    n = len(load_pu)
    theta_h, theta_to = profile.theta_h_c, profile.theta_to_c
    faa = aging_acceleration_factor(theta_h[:n])
    feqa, lol = insulation_loss_of_life(theta_h[:n], interval_min)
    limits = loading_limits(loading_type)
    hot_limit, oil_limit = limits
    over = (theta_h > hot_limit.upper) | (theta_to > oil_limit.upper)
    first = int(np.argmax(over)) if over.any() else None
    reached = None if first is None else (hot_limit if theta_h[first] > hot_limit.upper else oil_limit).name
    peak_h, peak_to = int(np.argmax(theta_h[:n])), int(np.argmax(theta_to[:n]))
    life_h = figure(LIFE, "normal_insulation_life_h")[0]
    citations += [cite(AGEING, "F_AA per interval from the calculated hot-spot temperature."),
                  cite(LIFE, f"F_EQA over the profile and loss of life on the {life_h:g} h normal-life basis."),
                  cite(LOADING_LIMITS, f"Limits for {loading_type.replace('_', '-')} loading: hot-spot "
                                       f"{hot_limit.upper:g} °C, top oil {oil_limit.upper:g} °C.")]
    return TransformerThermalResult(
        status="ok" if first is None else "limit_exceeded", intervals=n, duration_h=n * interval_min / 60,
        rating=rated.model_copy(update={"rated_hot_spot_rise_k": constants.rated_hot_spot_rise_k,
                                        "tau_top_oil_min": constants.tau_top_oil_min,
                                        "tau_winding_min": constants.tau_winding_min}),
        n_exponent=constants.n, m_exponent=constants.m,
        peak_hot_spot_c=round(float(theta_h[peak_h]), 3), peak_hot_spot_index=peak_h,
        peak_top_oil_c=round(float(theta_to[peak_to]), 3), peak_top_oil_index=peak_to,
        peak_load_mva=None if rated_mva is None else max(load_pu) * rated_mva,
        faa_max=float(faa.max()), faa_min=float(faa.min()),
        hours_faa_above_1=float((faa > 1).sum() * interval_min / 60), feqa=feqa, loss_of_life_percent=lol,
        normal_life_h=life_h, limits=limits,
        time_to_limit_h=None if first is None else (first + 1) * interval_min / 60, limit_reached=reached,
        notes=notes, citations=citations)
