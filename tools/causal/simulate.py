"""A physics-based structural simulator of a transformer's feeders, with planted causes: the causal tools' oracle.

:func:`simulate_feeder_history` draws a seeded history of every node of :func:`~gridsage.tools.causal.graph.
feeder_causal_graph` (ambient, irradiance, feeder loads and PV, tie-switch transfers, the transformer's flow,
top-oil and hot-spot temperatures) from structural equations, one per node, each with an independent exogenous
noise term.  A :class:`PlantedCause` adds a known shift to one node's noise at the anomalous rows, so the root
cause of the anomaly is known; :meth:`SimulatedHistory.intervene` re-generates the data with the same noise under
a shift intervention do(X := X + d), giving the true causal effect of any node on any other.

Structural equations (h = hour of day [h], UTC; every ε independent, drawn from one ``numpy`` Generator)::

    ambient_c            = ambient_mean_c + 5 cos(2π (h - 15) / 24) + u_a,     u_a AR(1), σ 1.5 K, lag-1 corr.
                                                                                exp(-Δt / 6 h)
    irradiance_w_m2      = 900 sin(π (h - 6) / 14) for 6 < h < 20 (else 0) · c,  cloud factor c ∈ [0.3, 1]
    <feeder>_load_p_mw   = P_nom · s(h) · (1 + 0.02/K · (ambient_c - 20)) · (1 + ε),  σ_ε = 3 %,
                           s(h): 0.6 at 04:00, 1.0 at 18:00, half-cosine between
    <feeder>_sgen_p_mw   = S_installed · irradiance_w_m2 / 1000 · (1 + ε),      σ_ε = 5 %
    switch_<s>_transfer  = 0 (+ planted shift: a switching event); with transfer_fraction = q > 0, a past
                           transfer B · U(0, 0.1 S_rated) per row, B ~ Bernoulli(q)
    trafo_t_p_mw         = Σ loads - Σ sgens + Σ transfers + ε,                 σ_ε = 1 % of S_rated
    trafo_t_theta_to_c   = ambient_c + Δθ_TO,R · ((K² R + 1) / (R + 1))^n + ε,  σ_ε = 0.5 K,  K = P / S_rated
    trafo_t_theta_h_c    = trafo_t_theta_to_c + Δθ_H,R · K^(2m) + ε,           σ_ε = 0.5 K (the sensor's error)

K uses active power only (unity power factor assumed).  Each interval is a steady state: the temperatures are the
ultimate rises of IEEE C57.91-2011 Clause 7 for that interval's load (the oil time constant is not simulated).

References
----------
.. [1] IEEE C57.91-2011, Clause 7: ultimate top-oil rise Δθ_TO,U = Δθ_TO,R ((K²R + 1)/(R + 1))^n and ultimate
   hot-spot rise over top oil Δθ_H,U = Δθ_H,R K^(2m), exponents n, m by cooling mode (constants resolved by
   :func:`gridsage.tools.equipment.transformer_thermal.thermal_constants`).
.. [2] J. Pearl, *Causality*, 2nd ed., 2009, ch. 1.4 (structural causal models) and ch. 3 (interventions).
.. [3] D. Janzing, K. Budhathoki, L. Minorics, P. Blöbaum, "Causal structure based root cause analysis of
   outliers", arXiv:1912.02724, 2019 (planted root causes as shifted noise terms).

The other figures (daily shapes, the 2 %/K load temperature sensitivity, noise levels, cloud factor) are round,
illustrative values chosen for a plausible summer feeder, not taken from a standard: the simulator is a test
oracle with a known truth, not a load model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from gridsage.errors import InputError
from gridsage.tools.causal.graph import CausalGraph, FeederArea, feeder_area, feeder_causal_graph

__all__ = ["PlantedCause", "SimulatedHistory", "simulate_feeder_history", "MAX_ROWS", "TARGET_PEAK_LOADING",
           "load_shape", "clear_sky_w_m2"]

#: most rows one simulation produces
MAX_ROWS = 200_000
#: default load scale: the transformer's noise-free peak load ratio K
TARGET_PEAK_LOADING = 0.875
#: daily ambient amplitude [K], hour of its peak [h], AR(1) noise σ [K] and correlation time [h]
AMBIENT_AMPLITUDE_K, AMBIENT_PEAK_H, AMBIENT_SIGMA_K, AMBIENT_TAU_H = 5.0, 15.0, 1.5, 6.0
#: load temperature sensitivity [1/K] around its reference ambient [°C]; load noise σ [p.u.]
LOAD_PER_K, LOAD_REF_C, LOAD_SIGMA = 0.02, 20.0, 0.03
#: clear-sky irradiance peak [W/m²], sunrise and sunset [h]; cloud factor range
IRRADIANCE_PEAK, SUNRISE_H, SUNSET_H, CLOUD_MIN = 900.0, 6.0, 20.0, 0.3
#: sgen noise σ [p.u.]; trafo flow noise σ [p.u. of S_rated]; temperature noise σ [K]
SGEN_SIGMA, FLOW_SIGMA_PU, THETA_SIGMA_K = 0.05, 0.01, 0.5
DEFAULT_START = "2026-07-01T00:00:00Z"
#: largest past transfer through a tie [p.u. of the transformer's rating] (with transfer_fraction > 0)
TRANSFER_MAX_PU = 0.1


class PlantedCause(BaseModel):
    """A known root cause: ``shift`` added to one node's noise term at the anomalous rows."""

    node: str = Field(description="A node of the graph, e.g. 'feeder_0_load_p_mw'.")
    shift: float = Field(allow_inf_nan=False,
                         description="Added to the node's noise at the anomalous rows [node's unit].")


def load_shape(hour):
    """Daily load shape [p.u. of peak]: 0.6 at 04:00, 1.0 at 18:00, half-cosines between.

    Parameters
    ----------
    hour : array_like
        Hour of day [h], 0 <= hour < 24.

    Returns
    -------
    numpy.ndarray
        Shape factor [p.u.], in [0.6, 1.0].
    """
    h = np.asarray(hour, dtype=float) % 24.0
    rising = (h >= 4.0) & (h < 18.0)
    phase = np.where(rising, (h - 4.0) / 14.0, ((h - 18.0) % 24.0) / 10.0)  # 0 -> 1 along each half
    up = 0.6 + 0.4 * (1 - np.cos(np.pi * phase)) / 2
    down = 1.0 - 0.4 * (1 - np.cos(np.pi * phase)) / 2
    return np.where(rising, up, down)


def clear_sky_w_m2(hour):
    """Clear-sky irradiance bell [W/m²]: 900 sin(π (h - 6) / 14) between 06:00 and 20:00, 0 at night.

    Parameters
    ----------
    hour : array_like
        Hour of day [h].
    """
    h = np.asarray(hour, dtype=float) % 24.0
    day = (h > SUNRISE_H) & (h < SUNSET_H)
    return np.where(day, IRRADIANCE_PEAK * np.sin(np.pi * (h - SUNRISE_H) / (SUNSET_H - SUNRISE_H)), 0.0)


@dataclass
class _Model:
    """Everything the structural equations need, fixed once per simulation."""

    graph: CausalGraph
    area: FeederArea
    hour: np.ndarray
    ambient_mean_c: float
    scale: float
    sn_mva: float
    top_oil_rise_k: float
    hot_spot_rise_k: float
    loss_ratio: float
    n: float
    m: float
    draws: dict[str, np.ndarray]           # standardised random draws per node
    shifts: dict[str, np.ndarray] = field(default_factory=dict)  # planted shifts per node (0 elsewhere)

    def run(self, extra: dict[str, np.ndarray] | None = None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Values and additive noise of every node, with ``extra`` shifts added to the planted ones."""
        rows = self.hour.size
        shift = {k: v.copy() for k, v in self.shifts.items()}
        for k, v in (extra or {}).items():
            shift[k] = shift.get(k, np.zeros(rows)) + v
        zero = np.zeros(rows)
        val, noise = {}, {}

        def put(name, mean, eps):
            noise[name] = eps + shift.get(name, zero)
            val[name] = mean + noise[name]

        d = self.draws
        daily = AMBIENT_AMPLITUDE_K * np.cos(2 * np.pi * (self.hour - AMBIENT_PEAK_H) / 24)
        put("ambient_c", self.ambient_mean_c + daily, d["ambient_c"])
        bell = clear_sky_w_m2(self.hour)
        if self.area.has_sgen:
            put("irradiance_w_m2", bell, bell * (d["irradiance_w_m2"] - 1.0))  # bell · c = bell + bell (c - 1)
        shape = load_shape(self.hour)
        p = np.zeros(rows)
        for f in self.area.feeders:
            base = f.p_nom_mw * self.scale * shape * (1 + LOAD_PER_K * (val["ambient_c"] - LOAD_REF_C))
            put(f.load_node, base, base * d[f.load_node])
            p = p + val[f.load_node]
            if f.sgen_node:
                base = f.sgen_installed_mw * val["irradiance_w_m2"] / 1000.0
                put(f.sgen_node, base, base * d[f.sgen_node])
                p = p - val[f.sgen_node]
        for tie in self.area.ties:
            put(tie.node, zero, d[tie.node])
            p = p + val[tie.node]
        names = self.area.names
        put(names["p"], p, d[names["p"]])
        k = val[names["p"]] / self.sn_mva
        r = self.loss_ratio
        put(names["theta_to"], val["ambient_c"] + self.top_oil_rise_k * ((k ** 2 * r + 1) / (r + 1)) ** self.n,
            d[names["theta_to"]])
        put(names["theta_h"], val[names["theta_to"]] + self.hot_spot_rise_k * np.abs(k) ** (2 * self.m),
            d[names["theta_h"]])
        return val, noise


class SimulatedHistory:
    """A simulated history: the graph, the data, every node's noise and the rows where causes were planted.

    Attributes
    ----------
    graph : CausalGraph
    data : pandas.DataFrame
        Column ``time`` (datetime64[ns, UTC]) and one float column per graph node [node's unit].
    noise : pandas.DataFrame
        The additive exogenous noise of every node [node's unit] (value minus its structural function of its
        parents), planted shifts included; same index.
    anomaly_rows : list of int
        Rows where the planted causes were applied.
    planted : list of PlantedCause
    load_scale : float
        The factor applied to every load's ``p_mw · scaling``.
    """

    def __init__(self, model: _Model, data, noise, anomaly_rows: list[int], planted: list[PlantedCause]):
        self._model = model
        self.graph = model.graph
        self.data = data
        self.noise = noise
        self.anomaly_rows = anomaly_rows
        self.planted = planted
        self.load_scale = model.scale

    def intervene(self, shifts: dict[str, float], rows=None):
        """The data re-generated with the same noise under do(X := X + d) for each node X with shift d.

        Parameters
        ----------
        shifts : dict of str to float
            Node name -> shift [node's unit].
        rows : list of int, optional
            Rows where the intervention applies (default: every row).

        Returns
        -------
        pandas.DataFrame
            Same columns as :attr:`data`; the true average effect of X on Y per unit of X is
            ``mean(intervene({X: d})[Y] - data[Y]) / d``.

        Raises
        ------
        InputError
            ``field='shifts'`` for an unknown node or a non-finite shift, ``field='rows'`` for a row out of range.
        """
        n = len(self.data)
        mask = np.zeros(n) if rows is not None else np.ones(n)
        if rows is not None:
            for r in _rows(rows, n, "rows"):
                mask[r] = 1.0
        extra = {}
        for name, d in dict(shifts).items():
            self.graph.node(name, field="shifts")
            if not isinstance(d, (int, float)) or not math.isfinite(d):
                raise InputError(f"The shift of '{name}' is not a finite number.", field="shifts",
                                 fix="give each shift as a finite number in the node's unit")
            extra[name] = mask * float(d)
        values, _ = self._model.run(extra)
        return _frame(self.data["time"], self.graph, values)


def _rows(rows, n: int, fieldname: str) -> list[int]:
    out = []
    for r in rows:
        if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or not -n <= int(r) < n:
            raise InputError(f"Row {r!r:.20} is out of range.", field=fieldname,
                             fix=f"give row numbers between 0 and {n - 1} (negative counts from the end)")
        out.append(int(r) % n)
    return sorted(set(out))


def _frame(time, graph: CausalGraph, values: dict[str, np.ndarray]):
    import pandas as pd

    frame = pd.DataFrame({"time": time})
    for name in graph.names:
        frame[name] = values[name].astype(float)
    return frame


def simulate_feeder_history(net, trafo: int, *, days: float = 14, interval_min: float = 60, seed: int = 0,
                            ambient_mean_c: float = 25.0, planted: list[PlantedCause] | None = None,
                            anomaly_rows: list[int] | None = None, cooling: str = "ONAN",
                            load_scale: float | None = None, noise_scale: float = 1.0,
                            transfer_fraction: float = 0.0, start: str = DEFAULT_START) -> SimulatedHistory:
    """Simulate a seeded history of one transformer's feeders, with planted causes at known rows.

    Parameters
    ----------
    net : pandapower.pandapowerNet
        The grid (in-service loads and sgens, switch states as they stand).
    trafo : int
        Index in ``net.trafo`` of an in-service transformer.
    days : float, default 14
        Length of the history [days].
    interval_min : float, default 60
        Interval between rows [min].
    seed : int, default 0
        Seed of the ``numpy`` Generator: the same seed gives the same history.
    ambient_mean_c : float, default 25
        Mean ambient temperature [°C].
    planted : list of PlantedCause, optional
        Shifts added to nodes' noise at ``anomaly_rows``.
    anomaly_rows : list of int, optional
        Rows of the planted causes [row numbers; negative counts from the end]; default the last row.
    cooling : str, default 'ONAN'
        Cooling mode, setting n, m and the rated rises (:func:`~gridsage.tools.equipment.transformer_thermal.
        thermal_constants`).
    load_scale : float, optional
        Factor on every load's ``p_mw · scaling``; default the one that makes the transformer's noise-free peak
        load ratio K = 0.875 (clear sky, the mean cloud factor).
    noise_scale : float, default 1
        Factor on every noise σ (0: the noise-free structural equations, planted shifts only).
    transfer_fraction : float, default 0
        Fraction of rows [0-1] in which each tie switch carried a past transfer, uniform in 0-10 % of the
        transformer's rating [MW] (0: the ties stay open, transfers are 0 apart from planted shifts).  A history
        with some transfers lets a fitted model learn how a transfer moves the flow.
    start : str, default '2026-07-01T00:00:00Z'
        Time of the first row (ISO 8601, UTC).

    Returns
    -------
    SimulatedHistory

    Raises
    ------
    InputError
        For an unknown or out-of-service ``trafo``, an area without load, a bad ``days``/``interval_min`` (more
        than 200,000 rows, fewer than 2), ``cooling``, ``planted`` node or ``anomaly_rows``.

    References
    ----------
    .. [1] IEEE C57.91-2011, Clause 7 (ultimate top-oil and hot-spot rises; n, m by cooling mode).
    .. [2] Janzing et al., arXiv:1912.02724, 2019 (root causes as shifted noise).
    """
    import pandas as pd

    from gridsage.tools.equipment.transformer_thermal import TransformerRating, thermal_constants

    examples = {"days": 14, "interval_min": 60, "noise_scale": 1, "transfer_fraction": 0.05}
    for name, value, low in (("days", days, 0.0), ("interval_min", interval_min, 0.0),
                             ("noise_scale", noise_scale, None), ("transfer_fraction", transfer_fraction, None)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or \
                (low is not None and value <= low) or (low is None and value < 0) or \
                (name == "transfer_fraction" and value > 1):
            kind = "positive" if low is not None else "between 0 and 1" if name == "transfer_fraction" else "non-negative"
            raise InputError(f"{name} must be a finite {kind} number.",
                             field=name, fix=f"give {name} as a number, e.g. {examples[name]}")
    rows = int(round(days * 24 * 60 / interval_min))
    if not 2 <= rows <= MAX_ROWS:
        raise InputError(f"days and interval_min give {rows} rows; 2 to {MAX_ROWS} are supported.", field="days",
                         fix="shorten the history or lengthen the interval")
    try:
        constants, _ = thermal_constants(TransformerRating(cooling=cooling))
    except ValidationError:
        raise InputError("Unknown cooling mode.", field="cooling", fix="use ONAN, ONAF, OFAF, ODAF (see "
                                                                       "TransformerRating.cooling)") from None
    try:
        t0 = pd.Timestamp(start)
    except (ValueError, TypeError):
        raise InputError("start is not an ISO 8601 time.", field="start", fix="e.g. '2026-07-01T00:00:00Z'") from None
    t0 = t0.tz_localize("UTC") if t0.tzinfo is None else t0.tz_convert("UTC")
    area = feeder_area(net, trafo)
    graph = feeder_causal_graph(net, trafo)
    if not any(abs(f.p_nom_mw) > 0 for f in area.feeders):
        raise InputError(f"Transformer {area.trafo} feeds no in-service load.", field="trafo",
                         fix="choose a transformer that feeds load")
    if not area.sn_mva > 0:
        raise InputError(f"Transformer {area.trafo} has no rating (sn_mva).", field="trafo",
                         fix="set net.trafo.sn_mva")
    planted = [PlantedCause.model_validate(p) if not isinstance(p, PlantedCause) else p for p in (planted or [])]
    for i, p in enumerate(planted):
        graph.node(p.node, field=f"planted[{i}].node")
    anomaly = _rows(anomaly_rows if anomaly_rows is not None else [rows - 1], rows, "anomaly_rows")

    time = pd.date_range(t0, periods=rows, freq=pd.Timedelta(minutes=interval_min))
    hour = ((time - time.normalize()) / pd.Timedelta(hours=1)).to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    s = float(noise_scale)
    draws: dict[str, np.ndarray] = {}
    # ambient: AR(1) with stationary σ, lag-1 correlation exp(-Δt/τ)
    phi = math.exp(-interval_min / (AMBIENT_TAU_H * 60))
    e = rng.normal(0.0, AMBIENT_SIGMA_K, rows)
    ar = np.empty(rows)
    ar[0] = e[0]
    for i in range(1, rows):
        ar[i] = phi * ar[i - 1] + math.sqrt(1 - phi * phi) * e[i]
    draws["ambient_c"] = s * ar
    # cloud factor in [0.3, 1]: 1 - 0.7 · Beta(1.5, 5) (mean ≈ 0.84), shrunk toward 1 by noise_scale
    if area.has_sgen:
        draws["irradiance_w_m2"] = 1.0 - s * (1 - CLOUD_MIN) * rng.beta(1.5, 5.0, rows)
    for f in area.feeders:
        draws[f.load_node] = s * rng.normal(0.0, LOAD_SIGMA, rows)
        if f.sgen_node:
            draws[f.sgen_node] = s * rng.normal(0.0, SGEN_SIGMA, rows)
    for tie in area.ties:
        if transfer_fraction > 0:  # drawn only when asked, so the default histories do not depend on it
            on = rng.random(rows) < transfer_fraction
            draws[tie.node] = np.where(on, rng.uniform(0.0, TRANSFER_MAX_PU * area.sn_mva, rows), 0.0)
        else:
            draws[tie.node] = np.zeros(rows)
    names = area.names
    draws[names["p"]] = s * rng.normal(0.0, FLOW_SIGMA_PU * area.sn_mva, rows)
    draws[names["theta_to"]] = s * rng.normal(0.0, THETA_SIGMA_K, rows)
    draws[names["theta_h"]] = s * rng.normal(0.0, THETA_SIGMA_K, rows)

    if load_scale is None:
        scale = _default_scale(area, hour, ambient_mean_c, 1.0 - (1 - CLOUD_MIN) * 1.5 / 6.5 * s)
    else:
        if isinstance(load_scale, bool) or not isinstance(load_scale, (int, float)) or not math.isfinite(load_scale) \
                or load_scale <= 0:
            raise InputError("load_scale must be a finite positive number.", field="load_scale",
                             fix="give e.g. 1.0 (the net's own loads), or leave it out for K ≈ 0.875 at peak")
        scale = float(load_scale)
    model = _Model(graph=graph, area=area, hour=hour, ambient_mean_c=float(ambient_mean_c), scale=scale,
                   sn_mva=area.sn_mva, top_oil_rise_k=float(constants.rated_top_oil_rise_k),
                   hot_spot_rise_k=float(constants.rated_hot_spot_rise_k), loss_ratio=float(constants.loss_ratio),
                   n=float(constants.n), m=float(constants.m), draws=draws)
    for p in planted:
        vec = model.shifts.setdefault(p.node, np.zeros(rows))
        vec[anomaly] += p.shift
    values, noise = model.run()
    data = _frame(time, graph, values)
    noise_frame = _frame(time, graph, noise).drop(columns="time")
    return SimulatedHistory(model, data, noise_frame, anomaly, planted)


def _default_scale(area: FeederArea, hour: np.ndarray, ambient_mean_c: float, cloud: float) -> float:
    """The load scale giving a noise-free peak load ratio of :data:`TARGET_PEAK_LOADING` over one day."""
    h = np.arange(0.0, 24.0, 0.25)
    ambient = ambient_mean_c + AMBIENT_AMPLITUDE_K * np.cos(2 * np.pi * (h - AMBIENT_PEAK_H) / 24)
    load = sum(f.p_nom_mw for f in area.feeders) * load_shape(h) * (1 + LOAD_PER_K * (ambient - LOAD_REF_C))
    sgen = sum(f.sgen_installed_mw for f in area.feeders) * clear_sky_w_m2(h) * cloud / 1000.0
    target = TARGET_PEAK_LOADING * area.sn_mva
    lo, hi = 0.0, 1.0
    while np.max(hi * load - sgen) < target and hi < 1e9:
        hi *= 2
    for _ in range(60):  # the peak of (scale · load - sgen) grows with scale: bisection
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.max(mid * load - sgen) < target else (lo, mid)
    return (lo + hi) / 2
