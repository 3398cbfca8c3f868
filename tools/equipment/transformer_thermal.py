"""Transformer thermal model: hot-spot and top-oil temperature, insulation ageing, limits by loading type.

Two thermal models, chosen by ``method``:

* ``'ieee_c57_91'`` (default): the IEEE C57.91 Clause 7 model.  Top oil and
  winding hot spot move exponentially towards the ultimate rises of each load
  step, the top-oil time constant scaled for the load by the guide's equation
  when n != 1 (:func:`top_oil_time_constant`), with exponents by cooling mode
  and IEC 60076-7 time constants by default (:func:`thermal_constants`).
* ``'iec_60076_7'``: the IEC 60076-7 dynamic model (top-oil lag with the
  ambient inside it, and a hot-spot gradient made of two lags with k11, k21,
  k22), solved exactly per interval of constant load (:func:`thermal_response`).

The Clause 5 ageing acceleration factor F_AA (:func:`aging_acceleration_factor`)
gives the equivalent ageing F_EQA and the loss of life on the
normal-insulation-life basis (:func:`insulation_loss_of_life`), and the
temperatures are checked against the limits of the loading type
(:func:`loading_limits`: the IEEE C57.91 table, or IEC 60076-7's with the IEC
method).  The tool :func:`transformer_thermal` combines them over a load
profile, with the time to the first limit over an optional projection, the
temperature series (bounded) to compare with SCADA, and the ambient as one
value, a series, a forecast over the projection, or a CSV column
(:class:`AmbientCsv`).

Every figure taken from a standard is read from the standards corpus, and
every result carries the citations of the clauses it applies.

References
----------
.. [1] IEEE Std C57.91-2011, "IEEE Guide for Loading Mineral-Oil-Immersed
   Transformers and Step-Voltage Regulators": Clause 5 (ageing equations,
   F_AA, F_EQA, normal insulation life), Clause 7 (temperature equations,
   exponents, top-oil time constant at loads other than rated), table of
   suggested temperature limits by loading type.
.. [2] IEC 60076-7:2018, "Power transformers - Part 7: Loading guide for
   mineral-oil-immersed power transformers": Clause 7 (current and temperature
   limits), Clause 8.2 (differential and difference equations of the dynamic
   thermal model), recommended thermal characteristics (τ_o, τ_w, x, y, k11,
   k21, k22).
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
TAU_AT_LOAD = "ieee-c57-91-load-dependent-oil-time-constant"
RATED = "ieee-c57-91-rated-hot-spot-temperature"
LIFE = "ieee-c57-91-equivalent-aging-loss-of-life"
LOADING_LIMITS = "ieee-c57-91-loading-beyond-nameplate-limits"
TIME_CONSTANTS = "iec-60076-7-thermal-time-constants"
IEC_MODEL = "iec-60076-7-thermal-model-constants"
IEC_LIMITS = "iec-60076-7-loading-limits"

#: intervals accepted per call (profile plus projection)
MAX_INTERVALS = 100_000
#: default number of points of the temperature series in a result (the rest is counted in series_points_omitted)
SERIES_POINTS = 48
#: bound on an ambient CSV file [bytes]
MAX_CSV_BYTES = 50 * 2**20
#: suffixes of an ambient CSV file
CSV_SUFFIXES = (".csv", ".txt")
#: column names taken as the ambient when none is given (case-insensitive), in order
AMBIENT_NAMES = ("ambient_c", "theta_a_c", "ambient", "temperature_c", "temp_c", "temperature", "temp", "t2m")

Cooling = Literal["ONAN", "ONAF", "OFAF", "ODAF"]
LoadingType = Literal["normal", "planned", "long_time_emergency", "short_time_emergency"]
Method = Literal["ieee_c57_91", "iec_60076_7"]

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
#: loading type -> (hot-spot, top-oil) limit figures of the IEC 60076-7 limits entry ('planned' has no IEC class)
_IEC_LIMIT_FIGURES = {
    "normal": ("theta_h_c_max_normal_cyclic", "theta_o_c_max_normal_cyclic"),
    "long_time_emergency": ("theta_h_c_max_long_time_emergency", "theta_o_c_max_long_time_emergency"),
    "short_time_emergency": ("theta_h_c_max_short_time_emergency", "theta_o_c_max_short_time_emergency"),
}

Pu = Annotated[float, Field(ge=0, allow_inf_nan=False)]
AmbientC = Annotated[float, Field(ge=-60, le=60, allow_inf_nan=False)]
CoolingArg = Annotated[Cooling, Field(description="Cooling mode: sets the exponents (IEEE C57.91 n, m; IEC x, y), the default time constants and the IEC k11, k21, k22.")]
MethodArg = Annotated[Method, Field(description="Thermal model: 'ieee_c57_91' (Clause 7, load-dependent top-oil time constant; default) or 'iec_60076_7' (the IEC dynamic model with k11, k21, k22, and IEC limits).")]
TopOilRise = Annotated[float, Field(gt=0, le=100, description="Rated top-oil rise over ambient Δθ_TO,R (IEC Δθ_or) [K]; 55 K is a typical 65 °C-rise value, not a standard figure.")]
HotSpotRise = Annotated[float | None, Field(gt=0, le=100, description="Rated hot-spot rise over top oil Δθ_H,R (IEC H·g_r) [K]; default: the rated hot-spot rise over ambient (IEEE C57.91, 80 K) minus the top-oil rise.")]
LossRatio = Annotated[float, Field(gt=0, le=1000, description="R, rated load loss over no-load loss [-]; 4.5 is a typical value, not a standard figure.")]
TauTopOil = Annotated[float | None, Field(gt=0, le=1000, description="Oil time constant at rated load τ_TO,R (IEC τ_o) [min]; default: the IEC 60076-7 recommended value for the cooling mode.")]
TauWinding = Annotated[float | None, Field(gt=0, le=100, description="Winding time constant τ_W [min]; default: the IEC 60076-7 recommended value for the cooling mode.")]
KConstant = Annotated[float | None, Field(gt=0, le=10, allow_inf_nan=False, description="IEC 60076-7 thermal-model constant [-] (method 'iec_60076_7' only); default: the recommended value for the cooling mode.")]
RatedMva = Annotated[float | None, Field(gt=0, allow_inf_nan=False, description="Nameplate rating [MVA]; only scales the reported peak load.")]
LoadProfile = Annotated[list[Pu], Field(min_length=1, max_length=MAX_INTERVALS, description="Load K per interval [pu of rated].")]
Projection = Annotated[list[Pu] | None, Field(max_length=MAX_INTERVALS, description="Projected load after the profile [pu], same interval; only for time_to_limit_h.")]
Ambient = Annotated[list[AmbientC] | AmbientC, Field(description="Ambient temperature [°C]: one per interval of load_pu, or one value for all.")]
IntervalMin = Annotated[float, Field(gt=0, le=1440, description="Length of each interval [min].")]
LoadingTypeArg = Annotated[LoadingType, Field(description="Loading type: sets the hot-spot and top-oil limits (IEEE C57.91 table; IEC 60076-7 with that method, which has no 'planned').")]


class AmbientCsv(BaseModel):
    """The ambient temperature from a column of a CSV file under a data root, one row per interval."""

    model_config = ConfigDict(extra="forbid")

    csv_path: str = Field(min_length=1, max_length=4096, description=(
        "CSV file with a header row, under a data root (GRIDSAGE_DATA_DIRS); relative paths are looked up there."))
    column: str | None = Field(default=None, min_length=1, max_length=256, description=(
        f"Column with the ambient [°C]; default the first named like {', '.join(AMBIENT_NAMES[:4])}, ... "
        "(case-insensitive)."))


AmbientInput = Annotated[list[AmbientC] | AmbientC | AmbientCsv, Field(description=(
    "Ambient temperature θ_A [°C]: one value for all intervals, one per interval of load_pu (measured), or "
    "{csv_path, column}: a CSV column read in row order, one row per interval (rows beyond load_pu continue over "
    "the projection)."))]
ProjectedAmbient = Annotated[list[AmbientC] | None, Field(max_length=MAX_INTERVALS, description=(
    "Ambient forecast over the projection [°C], one per interval of projected_load_pu; default: the CSV's further "
    "rows, else the last ambient held."))]
InitialTopOil = Annotated[float | None, Field(ge=-60, le=200, allow_inf_nan=False, description=(
    "Measured top-oil temperature at the start [°C] (e.g. from SCADA); default the steady state at the first load."))]
InitialHotSpot = Annotated[float | None, Field(ge=-60, le=250, allow_inf_nan=False, description=(
    "Measured hot-spot temperature at the start [°C]; needs initial_top_oil_c; default the steady hot-spot gradient "
    "of the first load."))]
SeriesPoints = Annotated[int, Field(ge=0, le=MAX_INTERVALS, description=(
    "Most points of the temperature series in the result, evenly strided over the profile (the last interval always "
    "listed); 0 for none."))]


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
    method: MethodArg = "ieee_c57_91"
    k11: KConstant = None
    k21: KConstant = None
    k22: KConstant = None


class ThermalConstants(NamedTuple):
    """The resolved constants of a :class:`TransformerRating`.

    For ``method='iec_60076_7'`` the oil exponent x is held in ``n`` and half
    the winding exponent y in ``m`` (so that Δθ_H,U = Δθ_H,R·K^(2m) = H·g_r·K^y
    in both models).
    """

    rated_top_oil_rise_k: float
    rated_hot_spot_rise_k: float
    loss_ratio: float
    n: float
    m: float
    tau_top_oil_min: float
    tau_winding_min: float
    method: str = "ieee_c57_91"
    k11: float = 1.0
    k21: float = 1.0
    k22: float = 1.0


class ThermalProfile(NamedTuple):
    """Temperatures at the end of each interval: rises [K] and temperatures [°C].

    ``tau_top_oil_min`` is the top-oil time constant applied in each interval
    [min] (IEEE C57.91 model; the IEC model's oil lag is k11·τ_o throughout).
    """

    top_oil_rise_k: np.ndarray
    hot_spot_rise_k: np.ndarray
    theta_to_c: np.ndarray
    theta_h_c: np.ndarray
    tau_top_oil_min: np.ndarray | None = None


def thermal_constants(rated: TransformerRating) -> tuple[ThermalConstants, list[Citation]]:
    """Resolve a rating: exponents and constants by cooling mode and method, corpus defaults for fields left ``None``.

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
        below the rated hot-spot rise over ambient, or k11, k21, k22 are
        given for the IEEE method (which has no such constants).

    References
    ----------
    .. [1] IEEE C57.91-2011, Clause 7 (exponents n, m by cooling mode); Clause 5
       (80 K rated hot-spot rise over ambient of 65 °C-rise units).
    .. [2] IEC 60076-7:2018, recommended thermal characteristics (τ_o, τ_w, x,
       y, k11, k21, k22).
    """
    suffix, group = _COOLING[rated.cooling]
    iec = rated.method == "iec_60076_7"
    if iec:
        model = corpus_entry(IEC_MODEL)
        i = model.figure("cooling_groups").index(group)
        k11, k21, k22 = (float(model.figure(name)[i]) if given is None else given
                         for name, given in (("k11", rated.k11), ("k21", rated.k21), ("k22", rated.k22)))
        times = corpus_entry(TIME_CONSTANTS)
        j = times.figure("cooling_groups").index(group)
        n, m = float(times.figure("x_oil_exponent")[j]), float(times.figure("y_winding_exponent")[j]) / 2
        citations = [cite(IEC_MODEL, f"IEC dynamic thermal model, {group} constants k11 = {k11:g}, k21 = {k21:g}, "
                                     f"k22 = {k22:g}, solved exactly per interval of constant load."),
                     cite(TIME_CONSTANTS, f"{group} exponents x = {n:g}, y = {2 * m:g}.")]
    else:
        given = [name for name in ("k11", "k21", "k22") if getattr(rated, name) is not None]
        if given:
            raise InputError(f"{given[0]} is a constant of the IEC 60076-7 model, not of IEEE C57.91 Clause 7",
                             field=given[0], fix="pass method='iec_60076_7' to use it, or leave it out.")
        k11 = k21 = k22 = 1.0
        n, m = figure(EQUATIONS, f"n_exponent_{suffix}")[0], figure(EQUATIONS, f"m_exponent_{suffix}")[0]
        citations = [cite(EQUATIONS, f"Clause 7 exponential model with {rated.cooling} exponents n = {n:g}, m = {m:g}."),
                     cite(TAU_AT_LOAD, "Top-oil time constant scaled per load step from the rise at the step's start "
                                       + ("(n = 1: the rated value throughout)." if n == 1 else f"(n = {n:g}).")),
                     ]
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
    return ThermalConstants(top_oil, hot_spot, rated.loss_ratio, n, m, tau_to, tau_w, rated.method,
                            k11, k21, k22), citations


def top_oil_time_constant(tau_rated_min, rise_initial_k, rise_ultimate_k, rated_rise_k: float, n: float):
    """Top-oil time constant for a load step, by the IEEE C57.91 Clause 7 equation for loads other than rated.

    Parameters
    ----------
    tau_rated_min : float
        Top-oil time constant at rated load τ_TO,R [min].
    rise_initial_k : array_like or float
        Top-oil rise over ambient at the start of the step Δθ_TO,i [K].
    rise_ultimate_k : array_like or float
        Ultimate top-oil rise of the step's load Δθ_TO,U [K], > 0.
    rated_rise_k : float
        Rated top-oil rise Δθ_TO,R [K].
    n : float
        Top-oil exponent n [-].

    Returns
    -------
    numpy.ndarray or float
        τ_TO [min], same shape as the rises.

    Notes
    -----
    With u = Δθ_TO,U/Δθ_TO,R and i = Δθ_TO,i/Δθ_TO,R:
    τ_TO = τ_TO,R·(u − i)/(u^(1/n) − i^(1/n)), and τ_TO = τ_TO,R when n = 1.
    When i = u (no change) the ratio is taken at its limit,
    τ_TO = n·τ_TO,R·u^(1 − 1/n).  A negative initial rise (ambient above the
    oil) is taken as 0 in the ratio.

    References
    ----------
    .. [1] IEEE C57.91-2011, Clause 7 (top-oil time constant at loads other than rated).
    """
    import numpy as np

    if n == 1:
        return np.broadcast_to(np.asarray(tau_rated_min, dtype=float), np.broadcast(rise_initial_k, rise_ultimate_k).shape)[()]
    u = np.asarray(rise_ultimate_k, dtype=float) / rated_rise_k
    i = np.clip(np.asarray(rise_initial_k, dtype=float), 0, None) / rated_rise_k
    limit = n * u ** (1 - 1 / n)
    close = np.abs(u - i) <= 1e-9 * np.maximum(u, 1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(close, limit, (u - i) / (u ** (1 / n) - i ** (1 / n)))
    return (tau_rated_min * ratio)[()]


def _first_order(ultimate, start: float, dt_over_tau: float):
    """Exact exponential update per step: x_i = U_i + (x_{i-1} - U_i) exp(-dt/tau), as a linear filter."""
    import numpy as np
    from scipy.signal import lfilter

    a = float(np.exp(-dt_over_tau))
    return lfilter([1 - a], [1, -a], ultimate, zi=[a * start])[0]


def _tau_step(tau_rated: float, initial: float, ultimate: float, rated: float, n: float) -> float:
    """Scalar :func:`top_oil_time_constant` (the per-step loop's hot path) [min]."""
    if n == 1:
        return tau_rated
    u, i = ultimate / rated, max(initial, 0.0) / rated
    if abs(u - i) <= 1e-9 * max(u, 1e-12):
        return tau_rated * n * u ** (1 - 1 / n)
    return tau_rated * (u - i) / (u ** (1 / n) - i ** (1 / n))


def _c57_top_oil(ultimate, start: float, dt_min: float, c: ThermalConstants):
    """Clause 7 top-oil rise per interval: one exponential per run of equal load, its τ_TO from the run's start rise."""
    import math

    import numpy as np

    change = (np.flatnonzero(np.diff(ultimate) != 0) + 1).tolist()
    rise, tau = np.empty_like(ultimate), np.empty_like(ultimate)
    x, values = float(start), ultimate.tolist()
    for a, b in zip([0] + change, change + [len(values)]):
        u = values[a]
        t = _tau_step(c.tau_top_oil_min, x, u, c.rated_top_oil_rise_k, c.n)
        if b - a == 1:
            x = u + (x - u) * math.exp(-dt_min / t)
            rise[a] = x
        else:
            rise[a:b] = u + (x - u) * np.exp(-np.arange(1, b - a + 1) * dt_min / t)
            x = float(rise[b - 1])
        tau[a:b] = t
    return rise, tau


def thermal_response(load_pu, ambient_c, dt_min: float, rated: TransformerRating,
                     initial: tuple[float, float] | None = None) -> ThermalProfile:
    """Top-oil and hot-spot temperatures over a load profile by the model of ``rated.method``.

    Parameters
    ----------
    load_pu : array_like
        Load K per interval [pu of rated], held constant within the interval.
    ambient_c : array_like or float
        Ambient temperature θ_A per interval, or one value [°C].
    dt_min : float
        Interval length [min].
    rated : TransformerRating
        Rated rises [K], loss ratio R [-], cooling mode, time constants [min]
        and method ('ieee_c57_91' or 'iec_60076_7').
    initial : tuple of float, optional
        Top-oil rise over the first interval's ambient and hot-spot rise over
        top oil at the start (Δθ_TO,i, Δθ_H,i) [K]; default the steady state at
        the first interval's load (and, for the IEC model, ambient).

    Returns
    -------
    ThermalProfile
        Δθ_TO = θ_TO − θ_A [K], Δθ_H [K], θ_TO [°C] and θ_H = θ_TO + Δθ_H [°C]
        at the end of each interval, and the top-oil time constant applied
        per interval [min] (IEEE model).

    Raises
    ------
    InputError
        If a load is negative or not finite, an ambient is not finite, or the
        ambient list does not match the load.

    Notes
    -----
    IEEE C57.91 Clause 7: ultimate rises Δθ_TO,U = Δθ_TO,R·[(K²R + 1)/(R + 1)]^n
    and Δθ_H,U = Δθ_H,R·K^(2m).  Consecutive intervals of equal load form one
    load step; over a step the top-oil rise follows
    Δθ_TO(t) = Δθ_TO,U + (Δθ_TO,i − Δθ_TO,U)·exp(−t/τ_TO), with τ_TO from
    :func:`top_oil_time_constant` at the step's initial rise (τ_TO,R when
    n = 1), and the hot-spot rise moves the same way with τ_W.  θ_TO = θ_A + Δθ_TO.

    IEC 60076-7: θ_o follows k11·τ_o·dθ_o/dt = Δθ_or·[(1 + K²R)/(1 + R)]^x − (θ_o − θ_A),
    and Δθ_h = Δθ_h1 − Δθ_h2 with k22·τ_w·dΔθ_h1/dt = k21·H·g_r·K^y − Δθ_h1 and
    (τ_o/k22)·dΔθ_h2/dt = (k21 − 1)·H·g_r·K^y − Δθ_h2, each solved exactly
    over an interval of constant K and θ_A (the limit of the standard's
    difference equations as their step shrinks).  A given initial gradient
    Δθ_H,i is split as at steady state: Δθ_h1 = k21·Δθ_H,i, Δθ_h2 = (k21 − 1)·Δθ_H,i.

    References
    ----------
    .. [1] IEEE C57.91-2011, Clause 7 (temperature equations; top-oil time
       constant at loads other than rated).
    .. [2] IEC 60076-7:2018, Clause 8.2 (differential equations and their
       difference-equation solution).
    """
    import numpy as np

    k = finite_values(load_pu, "load_pu", minimum=0)
    ambient = finite_values(ambient_c, "ambient_c")
    if ambient.size not in (1, k.size):
        raise InputError(f"ambient_c has {ambient.size} values for {k.size} load intervals", field="ambient_c",
                         fix="give one ambient temperature per load interval, or a single value.")
    c, _ = thermal_constants(rated)
    theta_a = np.broadcast_to(ambient, k.shape).astype(float)
    top_oil_u = c.rated_top_oil_rise_k * ((k ** 2 * c.loss_ratio + 1) / (c.loss_ratio + 1)) ** c.n
    hot_spot_u = c.rated_hot_spot_rise_k * k ** (2 * c.m)
    start_to, start_h = (top_oil_u[0], hot_spot_u[0]) if initial is None else initial
    if c.method == "iec_60076_7":
        theta_to = _first_order(theta_a + top_oil_u, theta_a[0] + start_to, dt_min / (c.k11 * c.tau_top_oil_min))
        h1 = _first_order(c.k21 * hot_spot_u, c.k21 * start_h, dt_min / (c.k22 * c.tau_winding_min))
        h2 = _first_order((c.k21 - 1) * hot_spot_u, (c.k21 - 1) * start_h, dt_min * c.k22 / c.tau_top_oil_min)
        hot_spot = h1 - h2
        return ThermalProfile(theta_to - theta_a, hot_spot, theta_to, theta_to + hot_spot)
    top_oil, tau = _c57_top_oil(top_oil_u, start_to, dt_min, c)
    hot_spot = _first_order(hot_spot_u, start_h, dt_min / c.tau_winding_min)
    theta_to = theta_a + top_oil
    return ThermalProfile(top_oil, hot_spot, theta_to, theta_to + hot_spot, tau)


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


def _limit(name: str, quantity: str, figure_name: str, note: str, entry: str = LOADING_LIMITS) -> Limit:
    value, citation, override = figure(entry, figure_name)
    note += f" Configured: {override}." if override else ""
    return Limit(name=name, quantity=quantity, upper=value, unit="°C", citation=citation.model_copy(update={"note": note}))


def loading_limits(loading_type: LoadingType, method: Method = "ieee_c57_91") -> list[Limit]:
    """The hot-spot and top-oil temperature limits of a loading type, by IEEE C57.91 or IEC 60076-7.

    Parameters
    ----------
    loading_type : {'normal', 'planned', 'long_time_emergency', 'short_time_emergency'}
        With ``method='iec_60076_7'``, 'normal' is IEC normal cyclic loading
        and 'planned' has no IEC class.
    method : {'ieee_c57_91', 'iec_60076_7'}, default 'ieee_c57_91'
        Whose limits: the C57.91 table, or IEC 60076-7 Clause 7.

    Returns
    -------
    list of Limit
        ``hot_spot_<type>`` on ``theta_h_c`` and ``top_oil_<type>`` on ``theta_to_c`` [°C], cited.

    Raises
    ------
    InputError
        If ``loading_type`` is 'planned' with the IEC method.

    References
    ----------
    .. [1] IEEE C57.91-2011, table of suggested maximum temperature limits by loading type.
    .. [2] IEC 60076-7:2018, Clause 7 (current and temperature limitations).
    """
    kind = loading_type.replace("_", "-")
    if method == "iec_60076_7":
        if loading_type not in _IEC_LIMIT_FIGURES:
            raise InputError("IEC 60076-7 has no 'planned' loading class (its classes: normal cyclic, long-time and "
                             "short-time emergency)", field="loading_type",
                             fix="use 'normal', 'long_time_emergency' or 'short_time_emergency', or method='ieee_c57_91'.")
        hot_spot, top_oil = _IEC_LIMIT_FIGURES[loading_type]
        kind = "normal cyclic" if loading_type == "normal" else kind
        return [_limit(f"hot_spot_{loading_type}", "theta_h_c", hot_spot,
                       f"IEC winding hot-spot limit for {kind} loading.", IEC_LIMITS),
                _limit(f"top_oil_{loading_type}", "theta_to_c", top_oil, f"IEC top-oil limit for {kind} loading.",
                       IEC_LIMITS)]
    hot_spot, top_oil = _LIMIT_FIGURES[loading_type]
    return [_limit(f"hot_spot_{loading_type}", "theta_h_c", hot_spot, f"Winding hottest-spot limit for {kind} loading."),
            _limit(f"top_oil_{loading_type}", "theta_to_c", top_oil, f"Top-oil limit for {kind} loading.")]


def ambient_from_csv(source: AmbientCsv, intervals: int):
    """The ambient column of a CSV file under a data root, one value per row [°C].

    Parameters
    ----------
    source : AmbientCsv
        File (under a data root, see :func:`gridsage.tools.paths.readable_file`) and column.
    intervals : int
        Rows needed at least (the profile's intervals).

    Returns
    -------
    numpy.ndarray
        Every row's ambient [°C], in file order (at least ``intervals`` of them).

    Raises
    ------
    InputError
        If the file is outside the data roots, missing, too large or not CSV;
        the column is missing or cannot be told; a row is blank, not numeric
        or outside −60..60 °C (named by file line, never by its content); or
        there are fewer rows than ``intervals``.
    """
    import numpy as np
    import pandas as pd

    from gridsage.tools.paths import parse_problem, readable_file

    field = "ambient_c.csv_path"
    path = readable_file(source.csv_path, field, suffixes=CSV_SUFFIXES)
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise InputError(f"{path.name} is {size / 2**20:.0f} MB; the bound is {MAX_CSV_BYTES // 2**20} MB", field=field,
                         fix="cut the file to the rows of the profile (one per interval).")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path.name} is empty", field=field, fix="give a CSV file with a header row.") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path.name} is not readable as CSV ({parse_problem(exc)})", field=field,
                         fix="save the data as comma-separated UTF-8 text with a header row.") from None
    columns = [str(c) for c in frame.columns]
    if source.column is not None:
        if source.column not in columns:
            raise InputError(f"no column {source.column!r} among the file's {len(columns)} column(s)",
                             field="ambient_c.column", fix="give the name of a header-row column (case-sensitive).")
        column, shown = source.column, source.column
    else:
        lowered = {c.strip().lower(): c for c in columns}
        shown = next((name for name in AMBIENT_NAMES if name in lowered), None)
        if shown is None:
            raise InputError(f"cannot tell which of the file's {len(columns)} column(s) is the ambient: none is named "
                             f"like {', '.join(AMBIENT_NAMES)}", field="ambient_c.column",
                             fix="name the column in ambient_c.column.")
        column = lowered[shown]
    values = pd.to_numeric(frame[column].astype("string").str.strip(), errors="coerce").to_numpy(dtype=float,
                                                                                                 na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(values) | (values < -60) | (values > 60))
    if bad.size:
        lines = ", ".join(str(int(r) + 2) for r in bad[:5])  # the header is line 1
        raise InputError(f"{bad.size} row(s) of column {shown!r} hold no ambient between -60 and 60 °C (file line(s) "
                         f"{lines}{', ...' if bad.size > 5 else ''})", field="ambient_c.column",
                         fix="fill the gaps and correct non-numeric or out-of-range values [°C] in that column.")
    if values.size < intervals:
        raise InputError(f"the column has {values.size} row(s) for {intervals} load intervals", field=field,
                         fix="give one ambient row per interval of load_pu (more rows continue over the projection).")
    return values


class ThermalSeries(BaseModel):
    """Temperatures at the end of the listed intervals of the profile, to compare with SCADA readings."""

    time_h: list[float] = Field(description="End of each listed interval [h from the start of the profile].")
    load_pu: list[float] = Field(description="Load K of the interval [pu].")
    ambient_c: list[float] = Field(description="Ambient θ_A of the interval [°C].")
    theta_to_c: list[float] = Field(description="Top-oil temperature θ_TO [°C].")
    theta_h_c: list[float] = Field(description="Winding hot-spot temperature θ_H [°C].")


def thermal_series(time_h, load_pu, ambient_c, theta_to_c, theta_h_c, max_points: int) -> tuple[ThermalSeries | None, int, int]:
    """Every ``stride``-th point of the series, ending at the last, at most ``max_points`` of them.

    Parameters
    ----------
    time_h, load_pu, ambient_c, theta_to_c, theta_h_c : array_like, shape (n,)
        [h], [pu], [°C], [°C], [°C].
    max_points : int
        Most points kept; 0 keeps none.

    Returns
    -------
    series : ThermalSeries or None
        None when ``max_points`` is 0.
    stride : int
        Intervals per listed point, ceil(n / max_points).
    omitted : int
        Intervals not listed.
    """
    import math

    import numpy as np

    n = len(time_h)
    if max_points == 0:
        return None, 0, n
    stride = max(1, math.ceil(n / max_points))
    idx = np.arange(n - 1, -1, -stride)[::-1]

    def pick(values, digits: int) -> list[float]:
        return np.round(np.asarray(values, dtype=float)[idx], digits).tolist()

    series = ThermalSeries(time_h=pick(time_h, 6), load_pu=pick(load_pu, 4), ambient_c=pick(ambient_c, 2),
                           theta_to_c=pick(theta_to_c, 2), theta_h_c=pick(theta_h_c, 2))
    return series, stride, n - idx.size


class TransformerThermalResult(ToolResult):
    """Hot-spot and top-oil temperatures, insulation ageing and limit check over a load profile."""

    status: Literal["ok", "limit_exceeded"] = Field(description="'limit_exceeded' when the profile or projection exceeds a limit.")
    method: Method = Field(default="ieee_c57_91", description="Thermal model applied.")
    intervals: int = Field(description="Intervals in the profile (projection excluded).")
    duration_h: float = Field(description="Length of the profile [h].")
    rating: TransformerRating = Field(description="The rating applied, defaults resolved.")
    n_exponent: float = Field(description="Top-oil exponent n [-] (IEC: the oil exponent x).")
    m_exponent: float = Field(description="Hot-spot exponent m [-] (IEC: half the winding exponent y).")
    tau_top_oil_range_min: list[float] | None = Field(default=None, description=(
        "Lowest and highest top-oil time constant applied over the profile and projection [min] (IEEE C57.91 "
        "load-dependent τ_TO; None for the IEC model, whose oil lag is k11·τ_o)."))
    ambient_source: Literal["constant", "series", "csv"] = Field(default="constant", description="Where θ_A came from.")
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
    series: ThermalSeries | None = Field(default=None, description=(
        "θ_TO and θ_H with load and ambient at the end of every series_stride-th interval of the profile (the last "
        "always listed), to compare with SCADA; None when max_series_points is 0."))
    series_stride: int = Field(default=1, description="Profile intervals per listed series point.")
    series_points_omitted: int = Field(default=0, description="Profile intervals not listed in series (raise max_series_points to list them).")
    notes: list[str] = Field(default_factory=list)
    citations: list[Citation]


def _ambients(ambient_c, projected_ambient_c, n: int, p: int, notes: list[str]):
    """Ambient over the profile and projection [°C] (array, or a float for a constant) and its source."""
    import numpy as np

    if projected_ambient_c is not None:
        if not p:
            raise InputError("projected_ambient_c is given without projected_load_pu", field="projected_ambient_c",
                             fix="give projected_load_pu with it, or leave the forecast out.")
        if len(projected_ambient_c) != p:
            raise InputError(f"projected_ambient_c has {len(projected_ambient_c)} values for {p} projected intervals",
                             field="projected_ambient_c", fix="give one forecast ambient per interval of projected_load_pu.")
    if isinstance(ambient_c, AmbientCsv):
        values, source = ambient_from_csv(ambient_c, n), "csv"
        extra, wanted = values.size - n, bool(p) and projected_ambient_c is None
        if wanted and extra >= p:
            notes.append(f"The projection's ambient is the CSV's next {p} rows.")
            return values[:n + p], source
        if extra:
            notes.append(f"The CSV's {extra} row(s) after the profile are not used"
                         + (f" (fewer than the projection's {p} intervals)." if wanted else "."))
        profile = values[:n]
    elif isinstance(ambient_c, list):
        if len(ambient_c) != n:
            raise InputError(f"ambient_c has {len(ambient_c)} values for {n} load intervals", field="ambient_c",
                             fix="give one ambient temperature per interval of load_pu, or a single value.")
        profile, source = np.asarray(ambient_c, dtype=float), "series"
    else:
        profile, source = float(ambient_c), "constant"
    if not p:
        return profile, source
    if projected_ambient_c is not None:
        notes.append("The projection's ambient is the forecast given (projected_ambient_c).")
        return np.concatenate([np.broadcast_to(profile, (n,)), np.asarray(projected_ambient_c, dtype=float)]), source
    if source == "constant":
        return profile, source
    notes.append(f"The projection holds the last ambient, {profile[-1]:g} °C.")
    return np.concatenate([profile, np.full(p, profile[-1])]), source


@tool
def transformer_thermal(
    load_pu: LoadProfile,
    ambient_c: AmbientInput,
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
    method: MethodArg = "ieee_c57_91",
    k11: KConstant = None,
    k21: KConstant = None,
    k22: KConstant = None,
    projected_ambient_c: ProjectedAmbient = None,
    initial_top_oil_c: InitialTopOil = None,
    initial_hot_spot_c: InitialHotSpot = None,
    max_series_points: SeriesPoints = SERIES_POINTS,
) -> TransformerThermalResult:
    """Hot-spot and top-oil temperature, insulation ageing and time to limit of a transformer over a load profile.

    Parameters
    ----------
    load_pu : list of float
        Load K per interval [pu of rated], at most :data:`MAX_INTERVALS`.
    ambient_c : float, list of float or AmbientCsv
        Ambient temperature θ_A [°C]: one value, one per interval (measured),
        or a CSV column under a data root read in row order, one row per
        interval; rows beyond the profile continue over the projection.
    interval_min : float
        Interval length [min].
    cooling : {'ONAN', 'ONAF', 'OFAF', 'ODAF'}, default 'ONAN'
    rated_top_oil_rise_k : float, default 55
        Rated top-oil rise over ambient Δθ_TO,R (IEC Δθ_or) [K] (typical 65 °C-rise value).
    rated_hot_spot_rise_k : float, optional
        Rated hot-spot rise over top oil Δθ_H,R (IEC H·g_r) [K]; default 80 K minus the top-oil rise.
    loss_ratio : float, default 4.5
        Load loss over no-load loss at rated load R [-] (typical value).
    tau_top_oil_min, tau_winding_min : float, optional
        Time constants at rated load [min]; default IEC 60076-7 recommended
        values by cooling (ONAN: the distribution-transformer row, 180 and 4 min).
    rated_mva : float, optional
        Nameplate rating [MVA].
    loading_type : {'normal', 'planned', 'long_time_emergency', 'short_time_emergency'}, default 'normal'
    projected_load_pu : list of float, optional
        Load after the profile [pu], same interval.
    method : {'ieee_c57_91', 'iec_60076_7'}, default 'ieee_c57_91'
        IEEE C57.91 Clause 7 with the load-dependent top-oil time constant
        and the C57.91 limits, or the IEC 60076-7 dynamic model with the IEC
        limits.
    k11, k21, k22 : float, optional
        IEC model constants [-] (IEC method only); default the recommended
        values by cooling (ONAN: the distribution row).
    projected_ambient_c : list of float, optional
        Ambient forecast over the projection [°C], one per projected interval;
        default the CSV's further rows, else the last ambient held.
    initial_top_oil_c, initial_hot_spot_c : float, optional
        Measured top-oil and hot-spot temperatures at the start [°C]; default
        the steady state at the first interval's load and ambient (the
        hot-spot alone defaults to the steady gradient of the first load).
    max_series_points : int, default :data:`SERIES_POINTS`
        Most points of the returned temperature series; 0 for none.

    Returns
    -------
    TransformerThermalResult
        Peaks of θ_H and θ_TO [°C], F_AA summary, F_EQA [-] and loss of life
        [%] over the profile, the limits applied and the time to the first
        limit exceeded [h] (profile then projection), the temperature series
        (bounded; ``series_points_omitted`` counts what it leaves out), the
        range of top-oil time constants applied [min], with citations.

    Raises
    ------
    InputError
        If a load is negative or not finite; the ambient list, forecast or CSV
        does not match the profile; the CSV cannot be read (see
        :func:`ambient_from_csv`); k11, k21 or k22 come with the IEEE method;
        'planned' comes with the IEC method; or a hot-spot start comes without
        a top-oil start or below it.
    RequestTooLargeError
        If profile and projection exceed :data:`MAX_INTERVALS` intervals.

    Notes
    -----
    Temperatures are evaluated at the end of each interval, so
    ``time_to_limit_h`` has a resolution of one interval.  IEEE C57.91: the
    top-oil time constant of each load step (a run of equal loads) is
    τ_TO = τ_TO,R·(u − i)/(u^(1/n) − i^(1/n)), u and i the ultimate and initial
    top-oil rises over the rated one (τ_TO,R when n = 1).  IEC 60076-7: see
    :func:`thermal_response`.  Ageing uses F_AA for thermally upgraded paper
    (110 °C reference), which IEC 60076-7 also uses for upgraded paper.

    References
    ----------
    .. [1] IEEE C57.91-2011, Clause 7 (temperatures, top-oil time constant at
       other loads), Clause 5 (F_AA, F_EQA, %LOL on the 180 000 h basis),
       suggested temperature limits by loading type.
    .. [2] IEC 60076-7:2018, Clause 7 (limits), Clause 8.2 (dynamic thermal
       model), recommended thermal characteristics.
    """
    import numpy as np

    rated = TransformerRating(cooling=cooling, rated_top_oil_rise_k=rated_top_oil_rise_k,
                              rated_hot_spot_rise_k=rated_hot_spot_rise_k, loss_ratio=loss_ratio,
                              tau_top_oil_min=tau_top_oil_min, tau_winding_min=tau_winding_min, rated_mva=rated_mva,
                              method=method, k11=k11, k21=k21, k22=k22)
    constants, citations = thermal_constants(rated)
    limits = loading_limits(loading_type, method)
    projected = projected_load_pu or []
    n, p = len(load_pu), len(projected)
    if n + p > MAX_INTERVALS:
        raise RequestTooLargeError(f"{n} + {p} intervals exceed {MAX_INTERVALS}",
                                   field="projected_load_pu", fix="shorten the projection or use a longer interval.")
    if initial_hot_spot_c is not None and initial_top_oil_c is None:
        raise InputError("a starting hot-spot temperature needs the starting top-oil temperature", field="initial_hot_spot_c",
                         fix="give initial_top_oil_c too (both measured at the start), or leave both out.")
    if initial_hot_spot_c is not None and initial_hot_spot_c < initial_top_oil_c:
        raise InputError(f"the starting hot spot {initial_hot_spot_c:g} °C is below the starting top oil "
                         f"{initial_top_oil_c:g} °C", field="initial_hot_spot_c",
                         fix="check the two readings: the winding hot spot is the hottest point, above the top oil.")
    notes: list[str] = []
    ambient, source = _ambients(ambient_c, projected_ambient_c, n, p, notes)
    ambient_0 = float(np.atleast_1d(ambient)[0])
    initial = None
    if initial_top_oil_c is None:
        notes.insert(0, "Initial state: steady state at the first interval's load and ambient.")
    else:
        gradient = (constants.rated_hot_spot_rise_k * load_pu[0] ** (2 * constants.m) if initial_hot_spot_c is None
                    else initial_hot_spot_c - initial_top_oil_c)
        initial = (initial_top_oil_c - ambient_0, gradient)
        notes.insert(0, f"Initial state: top oil {initial_top_oil_c:g} °C as given, hot-spot gradient {gradient:.3g} K "
                        + ("as given." if initial_hot_spot_c is not None else "(steady state at the first load)."))
    profile = thermal_response(list(load_pu) + list(projected), ambient, interval_min, rated, initial=initial)
    theta_h, theta_to = profile.theta_h_c, profile.theta_to_c
    faa = aging_acceleration_factor(theta_h[:n])
    feqa, lol = insulation_loss_of_life(theta_h[:n], interval_min)
    hot_limit, oil_limit = limits
    over = (theta_h > hot_limit.upper) | (theta_to > oil_limit.upper)
    first = int(np.argmax(over)) if over.any() else None
    reached = None if first is None else (hot_limit if theta_h[first] > hot_limit.upper else oil_limit).name
    peak_h, peak_to = int(np.argmax(theta_h[:n])), int(np.argmax(theta_to[:n]))
    life_h = figure(LIFE, "normal_insulation_life_h")[0]
    kind = loading_type.replace("_", "-")
    citations += [cite(AGEING, "F_AA per interval from the calculated hot-spot temperature."),
                  cite(LIFE, f"F_EQA over the profile and loss of life on the {life_h:g} h normal-life basis."),
                  cite(IEC_LIMITS if method == "iec_60076_7" else LOADING_LIMITS,
                       f"Limits for {kind} loading: hot-spot {hot_limit.upper:g} °C, top oil {oil_limit.upper:g} °C.")]
    if method == "iec_60076_7":
        notes.append("Ageing by F_AA (thermally upgraded paper, 110 °C reference), IEC 60076-7's rate for upgraded paper.")
    tau_range = None
    if profile.tau_top_oil_min is not None:
        tau_range = [round(float(profile.tau_top_oil_min.min()), 2), round(float(profile.tau_top_oil_min.max()), 2)]
    time_h = np.arange(1, n + 1) * interval_min / 60
    series, stride, omitted = thermal_series(time_h, load_pu, np.broadcast_to(ambient, (n + p,))[:n], theta_to[:n],
                                             theta_h[:n], max_series_points)
    resolved = {"rated_hot_spot_rise_k": constants.rated_hot_spot_rise_k, "tau_top_oil_min": constants.tau_top_oil_min,
                "tau_winding_min": constants.tau_winding_min}
    if method == "iec_60076_7":
        resolved |= {"k11": constants.k11, "k21": constants.k21, "k22": constants.k22}
    return TransformerThermalResult(
        status="ok" if first is None else "limit_exceeded", method=method, intervals=n, duration_h=n * interval_min / 60,
        rating=rated.model_copy(update=resolved), n_exponent=constants.n, m_exponent=constants.m,
        tau_top_oil_range_min=tau_range, ambient_source=source,
        peak_hot_spot_c=round(float(theta_h[peak_h]), 3), peak_hot_spot_index=peak_h,
        peak_top_oil_c=round(float(theta_to[peak_to]), 3), peak_top_oil_index=peak_to,
        peak_load_mva=None if rated_mva is None else max(load_pu) * rated_mva,
        faa_max=float(faa.max()), faa_min=float(faa.min()),
        hours_faa_above_1=float((faa > 1).sum() * interval_min / 60), feqa=feqa, loss_of_life_percent=lol,
        normal_life_h=life_h, limits=limits,
        time_to_limit_h=None if first is None else (first + 1) * interval_min / 60, limit_reached=reached,
        series=series, series_stride=stride, series_points_omitted=omitted, notes=notes, citations=citations)
