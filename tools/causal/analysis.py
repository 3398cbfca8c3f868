"""Root cause by causal analysis with DoWhy: anomaly attribution, effect estimation, distribution-change attribution.

Three questions a grid engineer asks of a transformer's history, answered on a causal graph
(:class:`~gridsage.tools.causal.graph.CausalGraph`, from :func:`~gridsage.tools.causal.graph.graph_from_edges` or
:func:`~gridsage.tools.causal.graph.feeder_causal_graph`) and a table of measurements (one column per node):

* :func:`attribute_frame` / :func:`attribute_anomaly`: *why is this reading anomalous?*  An invertible structural
  causal model (roots: empirical distribution; every other node: additive noise model ``X = f(parents) + N`` with a
  degree-2 polynomial ``f``, enough for the IEEE C57.91 ``K²`` terms) is fitted; the anomalous row's noise terms are
  recovered and the deviation of the target from its expected value is split among the upstream noise terms by
  Shapley values (Janzing et al. [1]_), in the target's unit (mean-deviation attribution with the identity as
  scoring function, so the contributions add up to ``value - E[target]``).  The target's own noise term is "the
  reading itself": a sensor error or a cause the graph does not model.  Bootstrap intervals refit the model on
  75 % subsets (``dowhy.gcm.confidence_intervals`` with ``fit_and_compute``).
* :func:`effect_frame` / :func:`estimate_effect`: *how much does the outcome change per unit of the treatment?*
  ``dowhy.CausalModel``: backdoor identification on the graph (Pearl [3]_, Theorem 3.3.2), linear-regression
  estimate, refuted by a placebo treatment, a random common cause, data subsets (Sharma and Kiciman [4]_), and a
  test of the graph's local Markov conditions on the data (:func:`graph_refutation`).
* :func:`change_frame` / :func:`explain_change`: *why did the target's mean change between two periods?*
  ``dowhy.gcm.distribution_change`` (Budhathoki et al. [2]_): mechanisms are refitted in the second period only
  where a (approximate kernel) independence test finds them changed, and the change of the target's mean is split
  among the changed mechanisms by Shapley values.

When the data has a ``time`` column, the time of day (four harmonics of the 24 h cycle: ``tod_sin1``, ``tod_cos1``,
``tod_sin2``, ``tod_cos2``) is added as an observed common cause of every weather, load and generation node in the
effect estimate and the graph test: the daily cycle drives both ambient temperature and demand, and left out it would
be a hidden confounder.

The frame-level functions take a ``pandas.DataFrame`` (used by playbooks); the tools read a CSV under the data
roots (:func:`gridsage.tools.paths.readable_file`).  ``dowhy``, ``sklearn`` and ``networkx`` are imported lazily.

References
----------
.. [1] D. Janzing, K. Budhathoki, L. Minorics, P. Blöbaum, "Causal structure based root cause analysis of
   outliers", arXiv:1912.02724 (2019); ICML 2022.
.. [2] K. Budhathoki, D. Janzing, P. Blöbaum, H. Ng, "Why did the distribution change?", AISTATS 2021, PMLR 130,
   pp. 1666-1674.
.. [3] J. Pearl, *Causality*, 2nd ed., Cambridge University Press, 2009: Theorem 3.3.2 (back-door adjustment),
   Theorem 1.2.7 (local Markov condition).
.. [4] A. Sharma, E. Kiciman, "DoWhy: An end-to-end library for causal inference", arXiv:2011.04216 (2020);
   P. Blöbaum et al., "DoWhy-GCM: An extension of DoWhy for causal inference in graphical causal models",
   JMLR 25 (2024).
.. [5] IEEE Std C57.91-2011, Clause 7 (top-oil and hot-spot rise as functions of the load ratio ``K``).
"""

from __future__ import annotations

import contextlib
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from gridsage.errors import InputError
from gridsage.tools.base import ToolResult, tool
from gridsage.tools.causal.graph import CausalGraph, graph_from_edges
from gridsage.tools.views import Brief, CompactView, head

__all__ = ["AnomalyAttributionResult", "CausalEffectResult", "Contribution", "DistributionChangeResult",
           "Refutation", "attribute_anomaly", "attribute_frame", "change_frame", "effect_frame", "estimate_effect",
           "explain_change", "graph_refutation"]

#: fewest valid rows an analysis accepts
MIN_ROWS = 50
#: fewest rows per period of a distribution change
MIN_PERIOD_ROWS = 20
#: most rows read from a CSV
MAX_CSV_ROWS = 200_000
#: robust z-score (|x - median| / (1.4826 MAD)) below which a value is reported 'not_anomalous'
ANOMALY_Z = 3.0
#: degree of the polynomial regressors of the additive noise models
POLY_DEGREE = 2
#: samples of the target's distribution used by the attribution (randomisation of the Shapley coalitions)
NUM_DISTRIBUTION_SAMPLES = 500
#: random permutations of the Shapley estimate (permutation sampling)
SHAPLEY_PERMUTATIONS = 10
#: lags of the Newey-West (HAC) covariance of the effect's interval [rows]
HAC_LAGS = 24
#: simulations per estimate refuter
REFUTER_SIMULATIONS = 20
#: largest relative change of the estimate a refuter tolerates (random common cause, data subset, placebo)
REFUTER_TOLERANCE = 0.10
#: family-wise significance level of the graph test (Bonferroni over its independence tests)
GRAPH_TEST_ALPHA = 0.01
#: most conditional-independence tests of the graph test
MAX_GRAPH_TESTS = 300
#: names of the time-of-day columns added when the data has a time column
TIME_OF_DAY = ("tod_sin1", "tod_cos1", "tod_sin2", "tod_cos2")
#: daily harmonics the graph test conditions on: PV's bell (zero at night) and the load shape need more than two
GRAPH_TEST_HARMONICS = 4
#: node of the hour of day [h] added to the GCM models when the data has times
HOUR = "hour_of_day"
#: roles the time of day is a common cause of
_DAILY_ROLES = ("weather", "load", "generation")
ESTIMATE_REFUTERS = ("placebo_treatment_refuter", "random_common_cause", "data_subset_refuter")
RefuterName = Literal["placebo_treatment_refuter", "random_common_cause", "data_subset_refuter", "graph_refuter"]

ATTRIBUTION_REFERENCES = [
    "D. Janzing, K. Budhathoki, L. Minorics, P. Bloebaum, Causal structure based root cause analysis of outliers, "
    "arXiv:1912.02724 (2019), ICML 2022",
    "P. Bloebaum et al., DoWhy-GCM: An extension of DoWhy for causal inference in graphical causal models, "
    "JMLR 25 (2024)",
    "IEEE Std C57.91-2011 Clause 7 (thermal model of the simulated/monitored transformer)",
]
CHANGE_REFERENCES = [
    "K. Budhathoki, D. Janzing, P. Bloebaum, H. Ng, Why did the distribution change?, AISTATS 2021, PMLR 130",
    "P. Bloebaum et al., DoWhy-GCM, JMLR 25 (2024)",
]
EFFECT_REFERENCES = [
    "J. Pearl, Causality (2nd ed., 2009), Theorem 3.3.2 back-door adjustment; Theorem 1.2.7 local Markov condition",
    "A. Sharma, E. Kiciman, DoWhy: An end-to-end library for causal inference, arXiv:2011.04216 (2020)",
]

NumBootstrap = Annotated[int, Field(ge=1, le=50, description="Bootstrap refits for the intervals [-].")]
MaxRows = Annotated[int, Field(ge=1, le=100, description="Most contributions listed (the rest are counted) [-].")]
GridId = Annotated[str | None, Field(max_length=128, description="Loaded grid whose topology gives the graph "
                                                                  "(with trafo).")]
Edges = Annotated[list[list[str]] | None, Field(max_length=200, description=(
    "The causal graph as [[cause, effect], ...] column names (at most 200 pairs); else give grid_id and trafo."))]


class Contribution(BaseModel):
    """One upstream node's share of the target's deviation (or of the change of its mean)."""

    node: str = Field(description="Node (data column) whose noise term / mechanism contributes.")
    role: str | None = Field(default=None, description="Its role in the graph (weather, load, ...).")
    description: str | None = Field(default=None, description="What the node measures.")
    contribution: float = Field(description="[target's unit] Part of the target's deviation from its expected value "
                                            "(attribution) or of the change of its mean (distribution change).")
    share_percent: float = Field(description=(
        "Share of the deviation beyond the normal daily cycle: contribution / sum of |contributions| * 100, positive "
        "when it pushes the way the deviation goes [%]."))
    ci_low: float | None = Field(default=None, description="Lower bootstrap bound [target's unit].")
    ci_high: float | None = Field(default=None, description="Upper bootstrap bound [target's unit].")


class AnomalyAttributionResult(ToolResult):
    """Why one reading of the target is anomalous: the upstream causes ranked by their share of its deviation."""

    status: Literal["ok", "not_anomalous", "insufficient_data"] = Field(description=(
        f"'ok'; 'not_anomalous' when neither the value nor any noise term is {ANOMALY_Z:g} robust standard "
        "deviations from usual (contributions still given); 'insufficient_data' when the target does not vary."))
    target: str
    unit: str
    anomaly_time: str = Field(description="Time of the analysed row (ISO 8601 UTC), or 'row <n>' without times.")
    anomaly_row: int = Field(description="Position of the analysed row in the data as given [-].")
    value: float = Field(description="The target's value at that row [target's unit].")
    expected: float = Field(description="The target's mean over the rows used [target's unit].")
    median: float = Field(description="The target's median over the rows used [target's unit].")
    excess: float = Field(description="value - expected [target's unit].")
    robust_z: float | None = Field(description="|value - median| / (1.4826 MAD) of the target [-].")
    max_noise_z: float | None = Field(default=None, description=(
        "Largest robust z-score of a node's noise term at the row, against that noise in the history [-]; an "
        "anomaly hidden in the daily cycle shows here, not in robust_z."))
    contributions: list[Contribution] = Field(description=(
        "By |contribution|, largest first; with daily_cycle they add up to about value - E[target] of the fitted "
        "model."))
    contributions_omitted: int = 0
    daily_cycle: float | None = Field(default=None, description=(
        f"Contribution of the normal daily cycle ('{HOUR}', a root node when the data has times) [target's unit]: "
        "the usual rise or fall at this hour, no cause to act on; None without times."))
    excess_beyond_cycle: float | None = Field(default=None, description=(
        "Sum of the contributions other than the daily cycle: the deviation to explain [target's unit]."))
    unusual_nodes: list[str] = Field(default_factory=list, description=(
        f"Nodes whose noise term is at least {ANOMALY_Z:g} robust standard deviations from usual at this row, most "
        "unusual first (rarity, whereas contributions measure the size of the effect on the target)."))
    root_cause: str | None = Field(description=(
        f"Node of the largest contribution other than '{HOUR}' (the daily cycle is the normal pattern, not a root "
        "cause). Equal to target: the reading itself (sensor error or a cause the graph does not model)."))
    own_noise_node: str = Field(description="The target (its own noise term).")
    confidence_level: float
    num_bootstrap: int
    rows_used: int
    graph: CausalGraph
    assumptions: list[str]
    notes: list[str]
    method: str = ("dowhy.gcm.attribute_anomalies, invertible SCM: empirical roots, additive noise models with "
                   f"degree-{POLY_DEGREE} polynomial regressors; mean-deviation attribution (identity score), Shapley "
                   f"values (permutation sampling, {SHAPLEY_PERMUTATIONS} permutations); bootstrap intervals "
                   "(gcm.confidence_intervals, fit_and_compute, 75 % subsets)")
    references: list[str] = Field(default_factory=lambda: list(ATTRIBUTION_REFERENCES))

    def compact(self) -> "AttributionView":
        """The value, the root cause and the largest contributions, without the graph (see :class:`AttributionView`)."""
        return AttributionView.of(
            self, notes=self.notes, lists={"contributions": head(self.contributions, CONTRIBUTIONS_BRIEF,
                                                                 ContributionBrief.of)},
            target=self.target, unit=self.unit, anomaly_time=self.anomaly_time, value=self.value,
            expected=self.expected, excess=self.excess, daily_cycle=self.daily_cycle,
            excess_beyond_cycle=self.excess_beyond_cycle, root_cause=self.root_cause,
            graph_nodes=len(self.graph.nodes), graph_edges=len(self.graph.edges), rows_used=self.rows_used)

    def one_line(self) -> str:
        """``'ok: trafo_0_theta_h_c 118.2 °C (+21.3), root cause feeder_1_load_p_mw [ev-0003]'``."""
        return (f"{self.status}: {self.target} {self.value:.4g} {self.unit} ({self.excess:+.3g}), root cause "
                f"{self.root_cause} [{self.evidence_id}]")


#: contributions an attribution's compact view lists (all are in the evidence)
CONTRIBUTIONS_BRIEF = 8


class ContributionBrief(Brief):
    """One contribution as the compact view lists it."""

    node: str
    role: str | None = None
    contribution: float = Field(description="[target's unit]")
    share_percent: float = Field(description="Share of the deviation beyond the daily cycle [%].")
    ci_low: float | None = None
    ci_high: float | None = None

    @classmethod
    def of(cls, c: Contribution) -> "ContributionBrief":
        return cls(**c.model_dump(exclude={"description"}))


class AttributionView(CompactView):
    """What an MCP client or a model receives of ``attribute_anomaly``: the value, the root cause, the largest
    contributions; the graph and every contribution stay in the evidence (read_evidence)."""

    target: str
    unit: str
    anomaly_time: str
    value: float = Field(description="[target's unit]")
    expected: float = Field(description="The target's mean [target's unit].")
    excess: float = Field(description="value - expected [target's unit].")
    daily_cycle: float | None = Field(default=None, description="The normal daily cycle's contribution [target's unit].")
    excess_beyond_cycle: float | None = Field(default=None, description="The deviation to explain [target's unit].")
    root_cause: str | None
    contributions: list[ContributionBrief]
    graph_nodes: int
    graph_edges: int
    rows_used: int

    def headline(self) -> str:
        return f"{self.status}: root cause {self.root_cause}"


class Refutation(BaseModel):
    """One robustness check of an effect estimate, or of the graph."""

    refuter: RefuterName
    new_effect: float | None = Field(default=None, description="Estimate after the refuter's change [outcome unit "
                                                               "per treatment_delta].")
    p_value: float | None = None
    passed: bool
    detail: str


class CausalEffectResult(ToolResult):
    """The average effect on the outcome of shifting the treatment by treatment_delta, with its refutations."""

    status: Literal["ok", "refuted", "not_identified"] = Field(description=(
        "'ok'; 'refuted' when a refuter failed (see refutations, notes); 'not_identified' when the graph has no "
        "directed path from treatment to outcome."))
    treatment: str
    outcome: str
    treatment_unit: str
    outcome_unit: str
    treatment_delta: float = Field(description="Shift of the treatment [treatment unit].")
    estimate: float | None = Field(description="Change of the outcome for treatment + treatment_delta [outcome unit].")
    effect_per_unit: float | None = Field(description="estimate / treatment_delta [outcome unit per treatment unit].")
    ci_low: float | None = Field(default=None, description=(
        "Lower bound of the estimate [outcome unit]: OLS interval with Newey-West (HAC, 24 lags) standard errors; it "
        "does not include the error of the linear approximation of a curved mechanism."))
    ci_high: float | None = None
    confidence_level: float = 0.95
    estimand: str
    adjustment_set: list[str]
    method: str = "dowhy.CausalModel: backdoor identification, backdoor.linear_regression (OLS) estimate"
    refutations: list[Refutation]
    rows_used: int
    assumptions: list[str]
    notes: list[str]
    references: list[str] = Field(default_factory=lambda: list(EFFECT_REFERENCES))

    def one_line(self) -> str:
        est = "n/a" if self.estimate is None else f"{self.estimate:+.4g} {self.outcome_unit}"
        return (f"{self.status}: {self.outcome} {est} per {self.treatment_delta:g} {self.treatment_unit} of "
                f"{self.treatment} [{self.evidence_id}]")


class DistributionChangeResult(ToolResult):
    """Why the target's mean changed between two periods: the mechanisms that changed, ranked by their share."""

    status: Literal["ok", "insufficient_data"] = Field(description=(
        f"'ok'; 'insufficient_data' when a period has fewer than {MIN_PERIOD_ROWS} valid rows."))
    target: str
    unit: str
    period_a: list[str] = Field(description="[start, end] of the reference period (ISO 8601 UTC, or row numbers).")
    period_b: list[str]
    mean_a: float | None = Field(description="The target's mean in period a [target's unit].")
    mean_b: float | None
    change: float | None = Field(description="mean_b - mean_a [target's unit].")
    contributions: list[Contribution] = Field(description="Per node, the change of the target's mean due to the "
                                                          "change of that node's mechanism, largest first.")
    contributions_omitted: int = 0
    daily_cycle: float | None = Field(default=None, description=f"Contribution of '{HOUR}' [target's unit].")
    changed_mechanisms: list[str] = Field(default_factory=list, description="Nodes whose mechanism the test found "
                                                                            "changed.")
    root_cause: str | None = None
    rows_a: int
    rows_b: int
    assumptions: list[str]
    notes: list[str]
    method: str = ("dowhy.gcm.distribution_change: mechanism-change test (approximate kernel independence test, "
                   "Benjamini-Hochberg), Shapley attribution of the change of the mean")
    references: list[str] = Field(default_factory=lambda: list(CHANGE_REFERENCES))

    def one_line(self) -> str:
        ch = "n/a" if self.change is None else f"{self.change:+.3g} {self.unit}"
        return f"{self.status}: {self.target} mean {ch}, root cause {self.root_cause} [{self.evidence_id}]"


# ---------------------------------------------------------------------------------------------------------------
# data preparation


def _check_frame(frame: Any, field: str) -> None:
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"the data is a {type(frame).__name__}, not a table", field=field,
                         fix="give a pandas DataFrame with one numeric column per graph node.")


def _prepare(frame, graph: CausalGraph, field: str = "frame", extra: tuple[str, ...] = ()) -> tuple[Any, list[str]]:
    """The graph's columns as floats, rows with a missing or non-finite value dropped; notes say how many.

    Returns the cleaned frame (original row labels kept, plus 'time' when present and parsed) and the notes.

    Raises
    ------
    InputError
        ``field`` names the missing node columns (at most 10), or fewer than :data:`MIN_ROWS` valid rows remain.
    """
    import numpy as np
    import pandas as pd

    _check_frame(frame, field)
    names = graph.names
    missing = [n for n in names if n not in frame.columns]
    if missing:
        shown = ", ".join(missing[:10]) + (f" (and {len(missing) - 10} more)" if len(missing) > 10 else "")
        raise InputError(f"the data has no column for the graph node(s) {shown}", field=field,
                         fix="add one numeric column per graph node (named as the node), or remove those nodes "
                             "from the graph's edges.")
    notes: list[str] = []
    data = frame[names].apply(pd.to_numeric, errors="coerce").astype(float)
    bad = ~np.isfinite(data.to_numpy()).all(axis=1)
    if "time" in frame.columns:
        times = frame["time"]
        if not pd.api.types.is_datetime64_any_dtype(times):
            times = pd.to_datetime(times, utc=True, errors="coerce", format="ISO8601")
        elif times.dt.tz is None:
            times = times.dt.tz_localize("UTC")
        else:
            times = times.dt.tz_convert("UTC")
        bad_time = times.isna().to_numpy()
        if bad_time.any():
            notes.append(f"{int(bad_time.sum())} row(s) with a missing or unreadable time were dropped.")
        bad = bad | bad_time
        data.insert(0, "time", times)
    if bad.any():
        per_col = {n: int((~np.isfinite(data[n].to_numpy())).sum()) for n in names}
        worst = ", ".join(f"{n} ({k})" for n, k in sorted(per_col.items(), key=lambda kv: -kv[1])[:5] if k)
        notes.append(f"{int(bad.sum())} of {len(data)} row(s) with a missing or non-numeric value in a graph column "
                     f"were dropped" + (f" (most in: {worst})" if worst else "") + "; the valid rows were kept.")
    data = data.loc[~bad]
    if len(data) < MIN_ROWS:
        raise InputError(f"only {len(data)} valid row(s) remain (at least {MIN_ROWS} are needed)", field=field,
                         fix="give a longer history, or fill gaps in the graph's columns.")
    return data, notes


def _time_of_day(times, harmonics: int = 2) -> dict[str, Any]:
    """Harmonics of the daily cycle [-] from UTC times: sin/cos of 2*pi*k*h/24 for k = 1..harmonics (h in hours)."""
    import numpy as np

    h = (times.dt.hour + times.dt.minute / 60.0 + times.dt.second / 3600.0).to_numpy(dtype=float)
    w = 2 * np.pi * h / 24.0
    return {f"tod_{f.__name__}{k}": f(k * w) for k in range(1, harmonics + 1) for f in (np.sin, np.cos)}


def _with_daily_cycle(data, graph: CausalGraph) -> tuple[Any, list[tuple[str, str]], list[str]]:
    """The data and edges with the time-of-day columns as causes of every weather/load/generation node (or of
    every root when the graph has none), when the data has times; else unchanged."""
    edges = list(graph.edges)
    if "time" not in data.columns:
        return data, edges, []
    daily = [n.name for n in graph.nodes if n.role in _DAILY_ROLES]
    if not daily:
        parents = {e for _, e in graph.edges}
        daily = [n for n in graph.names if n not in parents]
    tod = _time_of_day(data["time"])
    out = data.copy()
    for k, v in tod.items():
        out[k] = v
    edges += [(k, n) for k in TIME_OF_DAY for n in daily]
    return out, edges, [f"Time of day (24 h and 12 h harmonics of UTC time) is an observed common cause of "
                        f"{', '.join(daily[:8])}{' ...' if len(daily) > 8 else ''} (the daily cycle of weather and "
                        f"demand); it is adjusted for."]


def _time_label(data, row_label) -> str:
    if "time" in data.columns:
        return data.loc[row_label, "time"].isoformat()
    return f"row {row_label}"


@contextlib.contextmanager
def _seeded(seed: int):
    """Seed numpy's and Python's global generators (dowhy.gcm draws from them), restoring them afterwards."""
    import random

    import numpy as np

    np_state, py_state = np.random.get_state(), random.getstate()
    np.random.seed(seed)
    random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


def _quiet():
    import logging
    import warnings

    from dowhy import gcm

    gcm.config.disable_progress_bars()
    logging.getLogger("dowhy").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="dowhy")
    warnings.filterwarnings("ignore", module="sklearn")


_REGRESSOR: list = []


def _regressor_class():
    """A dowhy.gcm prediction model: ordinary least squares on the degree-2 polynomial features of the parents, with
    the hour of day (when a parent) entered as sin/cos of 2*pi*h/24 (its squares and products give the 12 h
    harmonics and the hour-dependent sensitivity to temperature)."""
    if _REGRESSOR:
        return _REGRESSOR[0]
    import numpy as np
    from dowhy.gcm.ml.prediction_model import PredictionModel
    from sklearn.linear_model import LinearRegression
    from sklearn.preprocessing import PolynomialFeatures

    class PolynomialRegressor(PredictionModel):
        def __init__(self, hour_column: int | None = None, prior: dict[int, float] | None = None,
                     balance: bool = False):
            self.hour_column = hour_column
            self.prior = dict(prior or {})
            self.balance = balance
            self._poly = PolynomialFeatures(degree=1 if balance else POLY_DEGREE, include_bias=False)
            self._lin = LinearRegression()
            self._fixed: dict[int, tuple[float, float]] = {}

        def _features(self, X):
            X = np.asarray(X, dtype=float).reshape(len(X), -1)
            if self.hour_column is not None:
                w = 2 * np.pi * X[:, self.hour_column] / 24.0
                X = np.column_stack([np.delete(X, self.hour_column, axis=1), np.sin(w), np.cos(w)])
            return self._poly.fit_transform(X)

        def _offset(self, X):
            X = np.asarray(X, dtype=float).reshape(len(X), -1)
            out = np.zeros(len(X))
            for j, (coef, level) in self._fixed.items():
                out += coef * (X[:, j] - level)
            return out

        def fit(self, X, Y):
            X = np.asarray(X, dtype=float).reshape(len(X), -1)
            # a parent constant in the history has no learnable effect: its prior coefficient (power balance) is used
            if self.balance:  # the power balance itself; a linear correction (losses, metering) fitted on top
                self._fixed = {j: (c, 0.0) for j, c in self.prior.items()}
            else:
                self._fixed = {j: (c, float(X[0, j])) for j, c in self.prior.items() if np.ptp(X[:, j]) == 0}
            self._lin.fit(self._features(X), np.asarray(Y, dtype=float).reshape(-1) - self._offset(X))

        def predict(self, X):
            return (self._lin.predict(self._features(X)) + self._offset(X)).reshape(-1, 1)

        def clone(self):
            return PolynomialRegressor(self.hour_column, self.prior, self.balance)

    _REGRESSOR.append(PolynomialRegressor)
    return PolynomialRegressor


def _balance_prior(graph: CausalGraph) -> dict[str, dict[str, float]]:
    """Per power-flow node [MW]: the coefficient of each MW parent by the power balance (Kirchhoff's current law at
    the transformer's busbar): +1 for load, switching (transfer) and flow parents, -1 for generation parents."""
    roles = {n.name: n for n in graph.nodes}
    sign = {"load": 1.0, "switching": 1.0, "flow": 1.0, "generation": -1.0}
    out: dict[str, dict[str, float]] = {}
    for n in graph.nodes:
        if n.role == "flow" and n.unit == "MW":
            out[n.name] = {p: sign[roles[p].role] for p in graph.parents(n.name)
                           if roles[p].unit == "MW" and roles[p].role in sign}
    return out


def _scm(graph_edges: list[tuple[str, str]], nodes: list[str], invertible: bool = True,
         prior: dict[str, dict[str, float]] | None = None):
    """An (invertible) structural causal model: empirical roots, additive noise models with polynomial regressors.

    ``prior`` gives, per node, coefficients of parents used only when that parent is constant in the fitted data
    (e.g. the transfer through a normally open switch, 0 throughout the history): see :func:`_balance_prior`."""
    import networkx as nx
    from dowhy import gcm

    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from(graph_edges)
    model = gcm.InvertibleStructuralCausalModel(g) if invertible else gcm.ProbabilisticCausalModel(g)
    regressor = _regressor_class()
    for n in g.nodes:
        if g.in_degree(n) == 0:
            model.set_causal_mechanism(n, gcm.EmpiricalDistribution())
        else:
            parents = sorted(g.predecessors(n))  # the order dowhy.gcm passes (dowhy.graph.get_ordered_predecessors)
            hour = parents.index(HOUR) if HOUR in parents else None
            coefs = {parents.index(p): c for p, c in (prior or {}).get(n, {}).items() if p in parents}
            balance = bool(coefs) and len(coefs) == len(parents)  # every cause is a term of the power balance
            model.set_causal_mechanism(n, gcm.AdditiveNoiseModel(regressor(hour, coefs, balance)))
    return model


def _with_hour(data, graph: CausalGraph, nodes: list[str]) -> tuple[Any, list[str], list[tuple[str, str]], list[str]]:
    """For the GCM tools: the data, nodes and edges with the hour of day [h] as a root cause of every weather, load and
    generation node among ``nodes`` (or of every root among them when there is none), when the data has times."""
    edges = [(c, e) for c, e in graph.edges if c in nodes and e in nodes]
    if "time" not in data.columns:
        return data, nodes, edges, []
    daily = [n.name for n in graph.nodes if n.role in _DAILY_ROLES and n.name in nodes]
    if not daily:
        daily = [n for n in nodes if not any(e == n for _, e in edges)]
    t = data["time"]
    out = data.copy()
    out[HOUR] = (t.dt.hour + t.dt.minute / 60.0 + t.dt.second / 3600.0).to_numpy(dtype=float)
    return out, [HOUR] + nodes, edges + [(HOUR, n) for n in daily], [
        f"The hour of day (UTC) is a root cause of {', '.join(daily[:8])}{' ...' if len(daily) > 8 else ''}: the "
        f"daily cycle of weather and demand; its contribution is listed as '{HOUR}'."]


def _noise(model, frame):
    """The noise terms of every node for the rows of ``frame`` [node's unit]: roots their value, others the residual
    of their fitted additive noise model (``AdditiveNoiseModel.estimate_noise``)."""
    import pandas as pd

    out = {}
    for n in model.graph.nodes:
        parents = sorted(model.graph.predecessors(n))
        x = frame[n].to_numpy(dtype=float)
        if parents:
            x = model.causal_mechanism(n).estimate_noise(x, frame[parents].to_numpy(dtype=float)).reshape(-1)
        out[n] = x
    return pd.DataFrame(out, index=frame.index)


def _relevant(graph: CausalGraph, target: str) -> list[str]:
    return graph.upstream(target) + [target]


def _contributions(values: dict, graph: CausalGraph, intervals: dict | None, max_rows: int
                   ) -> tuple[list, int, float | None]:
    """The contributions other than the daily cycle's, largest first, and the daily cycle's own [target's unit].

    ``share_percent`` is each contribution over the sum of their magnitudes, signed so that a cause pushing the way
    their sum goes is positive (up for a hot spot above its mean, down for a sag): the shares of the excess beyond
    the normal daily cycle (``hour_of_day``, which is no cause to act on).
    """
    cycle = _scalar(values[HOUR]) if HOUR in values else None
    rest = {k: v for k, v in values.items() if k != HOUR}
    total = sum(abs(v) for v in rest.values()) or 1.0
    sign = -1.0 if sum(rest.values()) < 0 else 1.0
    items = sorted(rest.items(), key=lambda kv: -abs(kv[1]))
    out = []
    for node, v in items[:max_rows]:
        meta = next((n for n in graph.nodes if n.name == node), None)
        lo = hi = None
        if intervals is not None and node in intervals:
            lo, hi = (float(x) for x in intervals[node])
        out.append(Contribution(node=node, role=meta.role if meta else None, description=meta.description if meta
                                else None, contribution=float(v), share_percent=round(100.0 * sign * float(v) / total, 2),
                                ci_low=lo, ci_high=hi))
    return out, max(0, len(items) - max_rows), cycle


def _scalar(x) -> float:
    import numpy as np

    return float(np.asarray(x, dtype=float).reshape(-1)[0])


# ---------------------------------------------------------------------------------------------------------------
# anomaly attribution


def attribute_frame(frame, graph: CausalGraph, target: str, anomaly_row: int | None = None, *, num_bootstrap: int = 10,
                    confidence_level: float = 0.9, seed: int = 0, max_rows: int = 20,
                    field: str = "frame") -> AnomalyAttributionResult:
    """Attribute one anomalous value of ``target`` to the noise terms of its upstream nodes (Shapley values).

    Parameters
    ----------
    frame : pandas.DataFrame
        One numeric column per graph node [node's unit] (others are ignored), optionally ``time`` (UTC or ISO text).
        Rows with a missing value in a graph column are dropped (counted in ``notes``).
    graph : CausalGraph
        The causal DAG.
    target : str
        The node whose value is explained, e.g. ``'trafo_0_theta_h_c'``.
    anomaly_row : int, optional
        Position (0-based, in ``frame`` as given) of the row to explain; default the row where the target deviates
        most from its median.
    num_bootstrap : int, default 10
        Refits on random 75 % subsets for the intervals (1: no interval) [-].
    confidence_level : float, default 0.9
        Level of the bootstrap intervals [-].
    seed : int, default 0
        Seed of the bootstrap subsets and of the Shapley sampling.
    max_rows : int, default 20
        Most contributions listed.
    field : str, default 'frame'
        Argument named in errors about the data.

    Returns
    -------
    AnomalyAttributionResult
        Contributions [target's unit] that add up to about ``value - E[target]`` under the fitted model.  The model
        is fitted on every valid row except the analysed one.

    Raises
    ------
    InputError
        Unknown ``target`` (names the valid nodes), a target without causes, missing node columns, fewer than
        :data:`MIN_ROWS` valid rows, ``anomaly_row`` out of range or dropped for missing values.

    References
    ----------
    Janzing et al., arXiv:1912.02724 (2019); dowhy.gcm.attribute_anomalies (Blöbaum et al., JMLR 2024).
    """
    import numpy as np
    from dowhy import gcm
    from dowhy.gcm.anomaly_scorer import AnomalyScorer

    node = graph.node(target, field="target")
    _check_frame(frame, field)
    if not 0 < confidence_level < 1:
        raise InputError(f"confidence_level {confidence_level!r} is not in (0, 1)", field="confidence_level",
                         fix="give e.g. 0.9.")
    if anomaly_row is not None and not (0 <= int(anomaly_row) < len(frame)):
        raise InputError(f"anomaly_row {anomaly_row} is outside the data (0..{len(frame) - 1})", field="anomaly_row",
                         fix="give the 0-based position of a row of the data.")
    upstream = graph.upstream(target)
    if not upstream:
        raise InputError(f"'{target}' has no causes in the graph, so there is nothing to attribute its value to",
                         field="target", fix="choose a node with incoming edges, e.g. a transformer temperature.")
    frame = frame.reset_index(drop=True)  # positions are the row labels from here on
    data, notes = _prepare(frame, graph, field)
    labels = list(frame.index)
    values = data[target].to_numpy(dtype=float)
    median = float(np.median(values))
    if anomaly_row is None:
        pos = int(np.argmax(np.abs(values - median)))
        label = data.index[pos]
        notes.append("anomaly_row not given: the row where the target deviates most from its median was analysed.")
    else:
        label = labels[int(anomaly_row)]
        if label not in data.index:
            raise InputError(f"row {anomaly_row} has a missing or non-numeric value in a graph column",
                             field="anomaly_row", fix="choose a complete row, or fill the gap.")
    a_pos = labels.index(label)
    value = float(data.loc[label, target])
    train = data.drop(index=label)
    mad = float(np.median(np.abs(train[target] - median))) * 1.4826
    spread = mad if mad > 0 else float(train[target].std())
    robust_z = abs(value - median) / spread if spread > 0 else None
    data, nodes, sub_edges, daily = _with_hour(data, graph, _relevant(graph, target))
    train = data.drop(index=label)
    assumptions = list(graph.assumptions) + daily + [
        "Additive noise: each non-root node = f(its parents) + an independent noise term; f a degree-2 polynomial.",
        "A power-flow node [MW] whose causes are all MW injections follows the power balance (Kirchhoff's current "
        "law: +1 load, switching, flow; -1 generation) plus a fitted linear correction (losses, metering); "
        "elsewhere a cause constant throughout the history (e.g. the transfer through a normally open switch) "
        "takes its balance coefficient, since no effect of it can be learnt from the data.",
        "The noise terms of different nodes are independent (no hidden common cause); the anomalous row follows the "
        "same mechanisms as the history, only with unusual noise values.",
    ]
    base = dict(target=target, unit=node.unit, anomaly_time=_time_label(data, label), anomaly_row=a_pos, value=value,
                expected=float(train[target].mean()), median=median, excess=value - float(train[target].mean()),
                robust_z=robust_z, own_noise_node=target, confidence_level=confidence_level,
                num_bootstrap=num_bootstrap, rows_used=len(train), graph=graph, assumptions=assumptions, notes=notes)
    if not spread > 0:
        return AnomalyAttributionResult(status="insufficient_data", contributions=[], root_cause=None,
                                        **base | {"notes": notes + ["the target does not vary in the data."]})

    class _Identity(AnomalyScorer):
        """g(x) = x: the mean-deviation attribution is then in the target's unit (Janzing et al. 2019, Sect. 4)."""

        def fit(self, X):
            pass

        def score(self, X):
            return np.asarray(X, dtype=float).reshape(-1)

    _quiet()
    shapley = gcm.shapley.ShapleyConfig(approximation_method=gcm.shapley.ShapleyApproximationMethods.PERMUTATION,
                                        num_permutations=SHAPLEY_PERMUTATIONS, n_jobs=1)
    sample = data.loc[[label], nodes]

    def query(model):
        return gcm.attribute_anomalies(model, target, sample, anomaly_scorer=_Identity(), attribute_mean_deviation=True,
                                       num_distribution_samples=NUM_DISTRIBUTION_SAMPLES, shapley_config=shapley)

    model = _scm(sub_edges, nodes, prior=_balance_prior(graph))
    with _seeded(seed):
        # how unusual each noise term is at the row: |n - median| / (1.4826 MAD) of the node's noise in the history
        gcm.fit(model, train[nodes])
        noise_hist = _noise(model, train[nodes])
        noise_row = _noise(model, sample)
        noise_z = {}
        for n in nodes:
            if n == HOUR:
                continue
            hist = noise_hist[n].to_numpy(dtype=float)
            scale = float(np.median(np.abs(hist - np.median(hist)))) * 1.4826 or float(hist.std())
            dev = abs(float(noise_row[n].iloc[0]) - float(np.median(hist)))
            if scale > 0:
                noise_z[n] = dev / scale
            elif dev > 0:  # constant throughout the history (e.g. a normally open switch's transfer), not here
                noise_z[n] = math.inf
        if num_bootstrap > 1:
            point, intervals = gcm.confidence_intervals(
                gcm.fit_and_compute(query, model, bootstrap_training_data=train[nodes]),
                confidence_level=confidence_level, num_bootstrap_resamples=num_bootstrap)
            point = {k: _scalar(v) for k, v in point.items()}
            intervals = {k: np.asarray(v, dtype=float).reshape(-1)[-2:] for k, v in intervals.items()}
        else:
            point = {k: _scalar(v) for k, v in query(model).items()}
            intervals = None
    contributions, omitted, cycle = _contributions(point, graph, intervals, max_rows)
    root = contributions[0].node if contributions else None
    finite = [z for z in noise_z.values() if math.isfinite(z)]
    max_noise_z = max(finite) if finite else None
    unusual = [n for n, z in sorted(noise_z.items(), key=lambda kv: -kv[1]) if z >= ANOMALY_Z]
    status = "ok" if (robust_z is not None and robust_z >= ANOMALY_Z) or unusual else "not_anomalous"
    if status == "not_anomalous":
        notes.append(f"Neither the value ({robust_z:.2f} robust standard deviations from the median) nor any noise "
                     f"term (at most {max_noise_z or 0:.2f}) is {ANOMALY_Z:g} robust standard deviations from usual: "
                     "not an anomaly; the contributions explain an ordinary deviation.")
    elif unusual:
        notes.append("Unusual noise terms at this row (robust z >= " + f"{ANOMALY_Z:g}): "
                     + ", ".join(f"{n} ({noise_z[n]:.1f})" if math.isfinite(noise_z[n]) else
                                 f"{n} (constant in the history, not at this row)" for n in unusual[:5]) + ".")
    if root == target:
        notes.append(f"The largest contribution is the target's own noise term: the reading itself (a sensor error "
                     f"of {target}) or a cause the graph does not model.")
    total = sum(point.values())
    notes.append(f"The contributions add up to {total:+.4g} {node.unit} (value minus the fitted model's expected "
                 f"value; excess over the data mean {value - base['expected']:+.4g} {node.unit}).")
    return AnomalyAttributionResult(status=status, contributions=contributions, contributions_omitted=omitted,
                                    daily_cycle=cycle, excess_beyond_cycle=total - (cycle or 0.0),
                                    root_cause=root, max_noise_z=max_noise_z, unusual_nodes=unusual, **base)


# ---------------------------------------------------------------------------------------------------------------
# effect estimation and refutation


def graph_refutation(frame, graph: CausalGraph, *, alpha: float = GRAPH_TEST_ALPHA,
                     max_tests: int = MAX_GRAPH_TESTS, field: str = "frame") -> Refutation:
    """Test the graph's local Markov conditions on the data: each node is independent of its non-descendants
    (other than its parents) given its parents.

    Each implied independence ``X ⫫ Y | pa(X)`` is tested by the partial correlation of ``X`` and ``Y`` given the
    parents, their squares (the ``K²`` terms of the thermal model) and, when the data has times, the time of day
    (:data:`GRAPH_TEST_HARMONICS` daily harmonics; Fisher z / t test, as ``dowhy.utils.cit.partial_corr``); the graph is refuted when a test rejects at the
    Bonferroni level ``alpha / m`` over the ``m`` tests.  Columns that hardly vary (more than 90 % of the rows at
    their median, e.g. a switching event) are left out of the tests.

    Parameters
    ----------
    frame : pandas.DataFrame
        One numeric column per node (``time`` optional).
    graph : CausalGraph
    alpha : float, default 0.01
        Family-wise significance level [-].
    max_tests : int, default 300
        Most tests (the nodes' tests are taken in topological order).

    Returns
    -------
    Refutation
        ``refuter='graph_refuter'``, ``p_value`` the smallest Bonferroni-adjusted p-value, ``passed`` when no test
        rejects.

    References
    ----------
    Pearl, Causality (2009), Theorem 1.2.7 (local Markov condition); DoWhy ``CausalModel.refute_graph``.
    """
    import numpy as np
    from scipy import stats

    data, _ = _prepare(frame, graph, field)
    names = graph.topological_order()
    x = data[names].to_numpy(dtype=float)
    med = np.median(x, axis=0)
    varying = {n for i, n in enumerate(names) if np.mean(np.isclose(x[:, i], med[i])) <= 0.9 and np.std(x[:, i]) > 0}
    tod = (np.column_stack(list(_time_of_day(data["time"], GRAPH_TEST_HARMONICS).values()))
           if "time" in data.columns else None)
    g = graph.to_networkx()
    import networkx as nx

    tests = []
    for n in names:
        if n not in varying:
            continue
        desc = nx.descendants(g, n)
        pa = graph.parents(n)
        for y in names:
            if y != n and y not in desc and y not in pa and y in varying:
                if (y, n) in [(a, b) for a, b, _ in tests]:
                    continue  # the same pair tested from the other side
                tests.append((n, y, pa))
    tests = tests[:max_tests]
    if not tests:
        return Refutation(refuter="graph_refuter", passed=True, p_value=None,
                          detail="The graph implies no testable conditional independence on these columns.")
    n_rows = len(data)
    pvals = []
    for a, b, pa in tests:
        cols = [np.ones(n_rows)]
        for p in pa:
            v = data[p].to_numpy(dtype=float)
            s = (v - v.mean()) / (v.std() or 1.0)
            cols += [s, s * s]
        if tod is not None:
            cols.append(tod)
        z = np.column_stack(cols)
        ra = data[a].to_numpy(dtype=float) - z @ np.linalg.lstsq(z, data[a].to_numpy(dtype=float), rcond=None)[0]
        rb = data[b].to_numpy(dtype=float) - z @ np.linalg.lstsq(z, data[b].to_numpy(dtype=float), rcond=None)[0]
        if ra.std() == 0 or rb.std() == 0:
            pvals.append(1.0)
            continue
        r = float(np.corrcoef(ra, rb)[0, 1])
        dof = n_rows - z.shape[1] - 1
        t = r * math.sqrt(max(dof, 1) / max(1e-12, 1 - r * r))
        pvals.append(float(2 * stats.t.sf(abs(t), max(dof, 1))))
    m = len(tests)
    adjusted = [min(1.0, p * m) for p in pvals]
    failed = [(t, p) for t, p in zip(tests, adjusted) if p < alpha]
    if failed:
        shown = "; ".join(f"{a} vs {b} given {{{', '.join(pa) or 'nothing'}}}" for (a, b, pa), _ in failed[:3])
        detail = (f"{len(failed)} of {m} independences the graph implies are rejected (Bonferroni, alpha {alpha:g}), "
                  f"e.g. {shown}: an edge is missing or wrong, or a common cause is hidden.")
    else:
        detail = f"All {m} independences the graph implies hold at the Bonferroni level (alpha {alpha:g})."
    return Refutation(refuter="graph_refuter", new_effect=None, p_value=min(adjusted), passed=not failed,
                      detail=detail)


def effect_frame(frame, graph: CausalGraph, treatment: str, outcome: str, *, treatment_delta: float = 1.0,
                 refuters: tuple | list | None = ESTIMATE_REFUTERS, graph_refuter: bool = True, seed: int = 0,
                 field: str = "frame") -> CausalEffectResult:
    """The average change of ``outcome`` when ``treatment`` is shifted by ``treatment_delta`` (backdoor adjustment).

    Parameters
    ----------
    frame : pandas.DataFrame
        One numeric column per graph node (``time`` optional: the time of day is then adjusted for).
    graph : CausalGraph
    treatment, outcome : str
        Nodes, e.g. ``'trafo_0_p_mw'`` and ``'trafo_0_theta_h_c'``.
    treatment_delta : float, default 1.0
        Shift of the treatment [treatment unit], finite and non-zero.
    refuters : sequence of str, optional
        Of ``'placebo_treatment_refuter'``, ``'random_common_cause'``, ``'data_subset_refuter'`` (each with
        :data:`REFUTER_SIMULATIONS` simulations); None or empty for none.
    graph_refuter : bool, default True
        Also test the graph's implied independences (:func:`graph_refutation`).
    seed : int, default 0

    Returns
    -------
    CausalEffectResult
        ``estimate`` [outcome unit] = OLS coefficient of the treatment (adjusted for the backdoor set) *
        ``treatment_delta``; a linear model: for a convex mechanism (``K²``) it is the average slope over the data.

    Raises
    ------
    InputError
        Unknown treatment or outcome, treatment equal to outcome, bad ``treatment_delta`` or refuter name, missing
        columns, fewer than :data:`MIN_ROWS` valid rows.

    References
    ----------
    Pearl (2009) Theorem 3.3.2; Sharma and Kiciman, arXiv:2011.04216 (2020).
    """
    import numpy as np

    t_node = graph.node(treatment, field="treatment")
    o_node = graph.node(outcome, field="outcome")
    if treatment == outcome:
        raise InputError("treatment and outcome are the same node", field="outcome",
                         fix="choose an outcome downstream of the treatment.")
    if not (isinstance(treatment_delta, (int, float)) and math.isfinite(treatment_delta) and treatment_delta != 0):
        raise InputError(f"treatment_delta {treatment_delta!r} is not a finite non-zero number",
                         field="treatment_delta", fix="give the shift of the treatment in its unit, e.g. 1.0.")
    refuters = tuple(refuters or ())
    for i, r in enumerate(refuters):
        if r not in ESTIMATE_REFUTERS:
            raise InputError(f"unknown refuter {r!r}", field=f"refuters[{i}]", fix="use any of "
                             + ", ".join(ESTIMATE_REFUTERS) + " (the graph test is graph_refuter=True).")
    data, notes = _prepare(frame, graph, field)
    assumptions = list(graph.assumptions) + [
        "The outcome is linear in the treatment and the adjustment set over the range of the data (OLS); a "
        "convex mechanism is summarised by its average slope.",
    ]
    base = dict(treatment=treatment, outcome=outcome, treatment_unit=t_node.unit, outcome_unit=o_node.unit,
                treatment_delta=float(treatment_delta), rows_used=len(data), notes=notes)
    if treatment not in graph.upstream(outcome):
        return CausalEffectResult(status="not_identified", estimate=None, effect_per_unit=None,
                                  estimand="no directed path from treatment to outcome in the graph",
                                  adjustment_set=[], refutations=[], assumptions=assumptions,
                                  **base | {"notes": notes + [f"{treatment} is not a cause of {outcome} in the graph: "
                                                              "its effect is zero under the graph's assumptions."]})
    _quiet()
    from dowhy import CausalModel
    import networkx as nx

    work, edges, daily = _with_daily_cycle(data, graph)
    assumptions += daily
    cols = graph.names + [c for c in TIME_OF_DAY if c in work.columns]
    g = nx.DiGraph()
    g.add_nodes_from(cols)
    g.add_edges_from(edges)
    df = work[cols].reset_index(drop=True)
    with _seeded(seed):
        model = CausalModel(data=df, treatment=treatment, outcome=outcome, graph=g)
        estimand = model.identify_effect(proceed_when_unidentifiable=True)
        adjustment = list(estimand.get_backdoor_variables() or [])
        estimate = model.estimate_effect(estimand, method_name="backdoor.linear_regression", control_value=0.0,
                                         treatment_value=float(treatment_delta), confidence_intervals=False,
                                         effect_modifiers=[])
        value = float(estimate.value)
        try:  # the OLS coefficient's 95 % interval, Newey-West (HAC, 24 lags: serially correlated hourly data)
            hac = estimate.estimator.model.get_robustcov_results(cov_type="HAC", maxlags=HAC_LAGS)
            ci = np.asarray(hac.conf_int(alpha=0.05), dtype=float)[1] * float(treatment_delta)
            lo, hi = float(ci.min()), float(ci.max())
        except (AttributeError, IndexError, ValueError):
            lo = hi = None
        refutations: list[Refutation] = []
        scale = abs(value) or 1e-12
        for r in refuters:
            kw: dict[str, Any] = {"num_simulations": REFUTER_SIMULATIONS, "random_seed": seed}
            if r == "placebo_treatment_refuter":
                kw["placebo_type"] = "permute"
            elif r == "data_subset_refuter":
                kw["subset_fraction"] = 0.8
            res = model.refute_estimate(estimand, estimate, method_name=r, **kw)
            new = float(np.asarray(res.new_effect, dtype=float).reshape(-1)[0])
            p = res.refutation_result.get("p_value") if isinstance(res.refutation_result, dict) else None
            p = None if p is None else float(p)
            if r == "placebo_treatment_refuter":
                ok = abs(new) < REFUTER_TOLERANCE * scale
                detail = (f"Permuted treatment: effect {new:+.4g} {o_node.unit} ({100 * abs(new) / scale:.1f} % of the "
                          f"estimate; passes below {100 * REFUTER_TOLERANCE:g} %).")
            else:
                change = abs(new - value) / scale
                ok = change < REFUTER_TOLERANCE
                what = "Random common cause added" if r == "random_common_cause" else "80 % data subsets"
                detail = (f"{what}: effect {new:+.4g} {o_node.unit}, {100 * change:.1f} % from the estimate "
                          f"(passes below {100 * REFUTER_TOLERANCE:g} %).")
            refutations.append(Refutation(refuter=r, new_effect=new, p_value=p, passed=bool(ok), detail=detail))
    if graph_refuter:
        refutations.append(graph_refutation(data, graph, field=field))
    failed = [r.refuter for r in refutations if not r.passed]
    if failed:
        notes.append("Refuted by " + ", ".join(failed) + ": treat the estimate as unreliable (see refutations).")
    shown = [a for a in adjustment if a not in TIME_OF_DAY]
    tod = [a for a in adjustment if a in TIME_OF_DAY]
    text = ", ".join(shown) + (" and the time of day" if tod else "") if adjustment else ""
    estimand_text = f"backdoor adjustment for {text}" if text else "backdoor: no adjustment needed (no confounder)"
    return CausalEffectResult(status="refuted" if failed else "ok", estimate=value,
                              effect_per_unit=value / float(treatment_delta), ci_low=lo, ci_high=hi,
                              estimand=estimand_text, adjustment_set=adjustment, refutations=refutations,
                              assumptions=assumptions, **base)


# ---------------------------------------------------------------------------------------------------------------
# distribution change


def _rows(data, rows, field: str, frame_index) -> list:
    """Row labels of a period: a [start, end] pair of times (inclusive, with a time column) or of 0-based positions,
    or a list of positions."""
    import pandas as pd

    if rows is None or isinstance(rows, (str, bytes)):
        raise InputError("no period given", field=field, fix="give [start, end] ISO times, or row positions.")
    rows = list(rows)
    if len(rows) == 2 and all(isinstance(r, str) for r in rows):
        if "time" not in data.columns:
            raise InputError("the data has no time column to select a period by time", field=field,
                             fix="add a 'time' column, or give row positions.")
        try:
            start, end = (pd.Timestamp(r) for r in rows)
        except (ValueError, TypeError):
            raise InputError("the period's bounds are not ISO 8601 times", field=field,
                             fix="give [start, end], e.g. ['2026-07-01T00:00Z', '2026-07-07T23:00Z'].") from None
        start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
        end = end.tz_localize("UTC") if end.tzinfo is None else end.tz_convert("UTC")
        if end < start:
            raise InputError("the period ends before it starts", field=field, fix="give [start, end] in order.")
        return list(data.index[(data["time"] >= start) & (data["time"] <= end)])
    labels = list(frame_index)
    try:
        pos = [int(r) for r in rows]
    except (TypeError, ValueError):
        raise InputError("row positions must be integers", field=field, fix="give 0-based row positions.") from None
    if len(rows) == 2 and pos[1] > pos[0] + 1 and all(0 <= p < len(labels) for p in pos):
        pos = list(range(pos[0], pos[1] + 1))
    if any(not 0 <= p < len(labels) for p in pos):
        raise InputError(f"a row position is outside the data (0..{len(labels) - 1})", field=field,
                         fix="give 0-based positions of rows of the data.")
    return [labels[p] for p in pos if labels[p] in data.index]


def _period_text(data, labels, rows) -> list[str]:
    if labels and "time" in data.columns:
        return [data.loc[labels[0], "time"].isoformat(), data.loc[labels[-1], "time"].isoformat()]
    return [str(r) for r in list(rows)[:1] + list(rows)[-1:]] if rows is not None else []


def change_frame(frame, graph: CausalGraph, target: str, rows_a, rows_b, *, seed: int = 0, max_rows: int = 20,
                 field: str = "frame") -> DistributionChangeResult:
    """Attribute the change of ``target``'s mean from period a to period b to the nodes whose mechanism changed.

    Parameters
    ----------
    frame : pandas.DataFrame
        One numeric column per graph node (``time`` optional).
    graph : CausalGraph
    target : str
    rows_a, rows_b : sequence
        A period: ``[start, end]`` ISO times (inclusive; needs a time column), ``[first, last]`` 0-based row
        positions, or a list of positions.
    seed : int, default 0
    max_rows : int, default 20

    Returns
    -------
    DistributionChangeResult
        ``change = mean_b - mean_a`` [target's unit] from the data; contributions [target's unit] (from the fitted
        models; they add up to about ``change``).

    Raises
    ------
    InputError
        Unknown target, a target without causes, missing columns, bad periods, fewer than :data:`MIN_ROWS` rows.

    References
    ----------
    Budhathoki et al., AISTATS 2021; dowhy.gcm.distribution_change.
    """
    import numpy as np
    from dowhy import gcm
    from dowhy.gcm.independence_test import approx_kernel_based

    node = graph.node(target, field="target")
    if not graph.upstream(target):
        raise InputError(f"'{target}' has no causes in the graph", field="target",
                         fix="choose a node with incoming edges, e.g. a transformer temperature.")
    _check_frame(frame, field)
    frame = frame.reset_index(drop=True)
    data, notes = _prepare(frame, graph, field)
    a = _rows(data, rows_a, "period_a" if field != "frame" else "rows_a", frame.index)
    b = _rows(data, rows_b, "period_b" if field != "frame" else "rows_b", frame.index)
    overlap = set(a) & set(b)
    if overlap:
        notes.append(f"{len(overlap)} row(s) belong to both periods.")
    data, nodes, sub_edges, daily = _with_hour(data, graph, _relevant(graph, target))
    assumptions = list(graph.assumptions) + daily + [
        "Within each period the data follow one set of mechanisms (additive noise, degree-2 polynomials); a "
        "mechanism is treated as changed only when the independence test finds it changed (5 %, BH-corrected).",
    ]
    base = dict(target=target, unit=node.unit, period_a=_period_text(data, a, rows_a),
                period_b=_period_text(data, b, rows_b), rows_a=len(a), rows_b=len(b), assumptions=assumptions,
                notes=notes)
    if len(a) < MIN_PERIOD_ROWS or len(b) < MIN_PERIOD_ROWS:
        return DistributionChangeResult(status="insufficient_data", mean_a=None, mean_b=None, change=None,
                                        contributions=[], **base | {"notes": notes + [
                                            f"each period needs at least {MIN_PERIOD_ROWS} valid rows."]})
    old, new = data.loc[a, nodes], data.loc[b, nodes]
    mean_a, mean_b = float(old[target].mean()), float(new[target].mean())
    _quiet()
    model = _scm(sub_edges, nodes, invertible=False, prior=_balance_prior(graph))
    with _seeded(seed):
        values, changed, _, _ = gcm.distribution_change(
            model, old, new, target, num_samples=2000,
            difference_estimation_func=lambda x, y: float(np.mean(y) - np.mean(x)),
            independence_test=approx_kernel_based, conditional_independence_test=approx_kernel_based,
            return_additional_info=True, shapley_config=gcm.shapley.ShapleyConfig(n_jobs=1))
    values = {k: float(v) for k, v in values.items()}
    contributions, omitted, cycle = _contributions(values, graph, None, max_rows)
    root = contributions[0].node if contributions and abs(contributions[0].contribution) > 0 else None
    notes.append(f"The contributions add up to {sum(values.values()):+.4g} {node.unit} (sampled from the fitted "
                 f"models); the observed change of the mean is {mean_b - mean_a:+.4g} {node.unit}.")
    return DistributionChangeResult(status="ok", mean_a=mean_a, mean_b=mean_b, change=mean_b - mean_a,
                                    contributions=contributions, contributions_omitted=omitted, daily_cycle=cycle,
                                    changed_mechanisms=[k for k, v in changed.items() if v], root_cause=root, **base)


# ---------------------------------------------------------------------------------------------------------------
# tools


def _read_csv(data_csv: str):
    """The CSV under the data roots as a DataFrame with a parsed UTC 'time' column."""
    import pandas as pd

    from gridsage.tools.paths import readable_file

    path = readable_file(data_csv, "data_csv", suffixes=(".csv",))
    try:
        frame = pd.read_csv(path, nrows=MAX_CSV_ROWS + 1, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise InputError(f"{path.name} cannot be read as CSV ({type(exc).__name__})", field="data_csv",
                         fix="give a comma-separated file with a header line: time, then one column per node."
                         ) from None
    if len(frame) > MAX_CSV_ROWS:
        raise InputError(f"{path.name} has more than {MAX_CSV_ROWS} rows", field="data_csv",
                         fix=f"give at most {MAX_CSV_ROWS} rows (e.g. a shorter period or hourly means).")
    if "time" not in frame.columns:
        raise InputError(f"{path.name} has no 'time' column", field="data_csv",
                         fix="add a column 'time' with ISO 8601 timestamps (UTC or with an offset).")
    frame["time"] = pd.to_datetime(frame["time"].astype(str), utc=True, errors="coerce", format="ISO8601")
    return frame


def _graph_for(frame, edges, grid_id, trafo) -> CausalGraph:
    if edges:
        return graph_from_edges(edges)
    if grid_id is not None and trafo is not None:
        from gridsage.tools.causal.graph import feeder_causal_graph
        from gridsage.tools.workspace import current_workspace

        net = current_workspace().get(grid_id).net
        return feeder_causal_graph(net, trafo, columns=[c for c in frame.columns if c != "time"])
    raise InputError("no causal graph given", field="edges",
                     fix="give edges [[cause, effect], ...] or grid_id and trafo")


@tool
def attribute_anomaly(
    data_csv: Annotated[str, Field(description="CSV under the data roots: 'time' (ISO 8601) + one column per node.")],
    target: Annotated[str, Field(max_length=64, description="Node to explain, e.g. 'trafo_0_theta_h_c'.")],
    anomaly_time: Annotated[str | None, Field(max_length=40, description=(
        "ISO time of the row to explain (the nearest row), or 'latest' (the last row: the reading that raised an "
        "alarm); default the row deviating most from the median."))] = None,
    edges: Edges = None,
    grid_id: GridId = None,
    trafo: Annotated[int | None, Field(ge=0, description="Transformer index in net.trafo (with grid_id).")] = None,
    num_bootstrap: NumBootstrap = 10,
    seed: int = 0,
    max_rows: MaxRows = 20,
) -> AnomalyAttributionResult:
    """Why is this reading anomalous? Rank the upstream causes of one value of ``target`` by their share of its
    deviation [target's unit] (DoWhy GCM anomaly attribution, Shapley values, bootstrap intervals).

    The graph comes from ``edges``, or from ``grid_id`` and ``trafo`` (transformer feeder graph built from the
    topology).  A root cause equal to the target means the reading itself (sensor error) or an unmodelled cause.

    Parameters
    ----------
    data_csv : str
        CSV under the data roots (or the output folder): ``time`` (ISO 8601) and one numeric column per node [node's
        unit]; at most 200,000 rows; rows with a missing value are dropped and counted.
    target : str
        The node explained, e.g. ``'trafo_0_theta_h_c'``.
    anomaly_time : str, optional
        ISO 8601 time of the row explained (the nearest row), or ``'latest'``; default the row deviating most.
    edges : list of [str, str], optional
        The causal graph as [cause, effect] pairs of column names (:func:`gridsage.tools.causal.graph.graph_from_edges`).
    grid_id : str, optional
        A loaded grid whose topology gives the graph around ``trafo``
        (:func:`gridsage.tools.causal.graph.feeder_causal_graph`; columns absent from the CSV are marginalised).
    trafo : int, optional
        pandapower trafo index, with ``grid_id``.
    num_bootstrap : int, default 10
        Refits for the intervals [1-50].
    seed : int, default 0
    max_rows : int, default 20
        Contributions listed (the rest counted in ``contributions_omitted``).

    Returns
    -------
    AnomalyAttributionResult
        Contributions [target's unit] adding up to about ``value - expected``, with 90 % bootstrap intervals.

    Raises
    ------
    InputError
        A file outside the data roots or unreadable, no ``time`` column, missing node columns, an unknown target,
        fewer than 50 valid rows, an unreadable ``anomaly_time``, or no graph given.

    References
    ----------
    .. [1] Janzing, D. et al. (2019). Causal structure based root cause analysis of outliers. arXiv:1912.02724.
    """
    import pandas as pd

    frame = _read_csv(data_csv)
    graph = _graph_for(frame, edges, grid_id, trafo)
    row = None
    if anomaly_time == "latest":
        row = len(frame) - 1
    elif anomaly_time is not None:
        try:
            when = pd.Timestamp(anomaly_time)
        except (ValueError, TypeError):
            raise InputError("anomaly_time is not an ISO 8601 time", field="anomaly_time",
                             fix="give e.g. '2026-07-14T17:00:00Z'.") from None
        when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
        gaps = (frame["time"] - when).abs()
        if gaps.isna().all():
            raise InputError("the data has no readable times", field="data_csv", fix="give ISO 8601 times.")
        row = int(gaps.reset_index(drop=True).idxmin())
    return attribute_frame(frame, graph, target, row, num_bootstrap=num_bootstrap, seed=seed, max_rows=max_rows,
                           field="data_csv")


@tool
def estimate_effect(
    data_csv: Annotated[str, Field(description="CSV under the data roots: 'time' (ISO 8601) + one column per node.")],
    treatment: Annotated[str, Field(max_length=64, description="Cause, e.g. 'trafo_0_p_mw'.")],
    outcome: Annotated[str, Field(max_length=64, description="Effect, e.g. 'trafo_0_theta_h_c'.")],
    treatment_delta: Annotated[float, Field(allow_inf_nan=False, description="Shift of the treatment [its unit], "
                                                                             "non-zero.")] = 1.0,
    edges: Edges = None,
    grid_id: GridId = None,
    trafo: Annotated[int | None, Field(ge=0, description="Transformer index in net.trafo (with grid_id).")] = None,
    refuters: Annotated[list[RefuterName] | None, Field(max_length=4, description=(
        "Refuters to run; default all four (placebo, random common cause, data subset, graph)."))] = None,
    seed: int = 0,
) -> CausalEffectResult:
    """How much does ``outcome`` change when ``treatment`` is shifted by ``treatment_delta``?  Backdoor
    identification on the causal graph, linear-regression estimate, refuted by a placebo treatment, a random common
    cause, data subsets and a test of the graph's implied independences (DoWhy).

    Parameters
    ----------
    data_csv : str
        CSV under the data roots (or the output folder): ``time`` and one numeric column per node [node's unit].
    treatment, outcome : str
        Nodes, e.g. ``'busbar_1_load_p_mw'`` and ``'trafo_0_theta_h_c'``.
    treatment_delta : float, default 1.0
        Shift of the treatment [treatment's unit], non-zero (e.g. -1 MW moved off).
    edges, grid_id, trafo
        The causal graph, as in :func:`attribute_anomaly`.
    refuters : list of str, optional
        Subset of placebo_treatment_refuter, random_common_cause, data_subset_refuter, graph_refuter; default all.
    seed : int, default 0

    Returns
    -------
    CausalEffectResult
        ``estimate`` [outcome's unit] for the shift, its 95 % interval (HAC errors), the back-door adjustment set,
        and each refutation; status ``refuted`` when one fails, ``not_identified`` with no causal path.

    Raises
    ------
    InputError
        As :func:`attribute_anomaly`, and a zero ``treatment_delta`` or an unknown refuter.

    References
    ----------
    .. [1] Pearl, J. (2009). Causality, 2nd ed., Theorem 3.3.2 (back-door adjustment).
    .. [2] Sharma, A., Kiciman, E. (2020). DoWhy: an end-to-end library for causal inference. arXiv:2011.04216.
    """
    if treatment_delta == 0:
        raise InputError("treatment_delta is zero", field="treatment_delta", fix="give a non-zero shift, e.g. 1.0.")
    frame = _read_csv(data_csv)
    graph = _graph_for(frame, edges, grid_id, trafo)
    chosen = list(refuters) if refuters is not None else [*ESTIMATE_REFUTERS, "graph_refuter"]
    return effect_frame(frame, graph, treatment, outcome, treatment_delta=treatment_delta,
                        refuters=tuple(r for r in chosen if r != "graph_refuter"),
                        graph_refuter="graph_refuter" in chosen, seed=seed, field="data_csv")


@tool
def explain_change(
    data_csv: Annotated[str, Field(description="CSV under the data roots: 'time' (ISO 8601) + one column per node.")],
    target: Annotated[str, Field(max_length=64, description="Node whose mean changed, e.g. 'trafo_0_theta_h_c'.")],
    period_a: Annotated[list[str], Field(min_length=2, max_length=2, description="[start, end] ISO times of the "
                                                                                  "reference period (inclusive).")],
    period_b: Annotated[list[str], Field(min_length=2, max_length=2, description="[start, end] ISO times of the "
                                                                                  "period compared.")],
    edges: Edges = None,
    grid_id: GridId = None,
    trafo: Annotated[int | None, Field(ge=0, description="Transformer index in net.trafo (with grid_id).")] = None,
    seed: int = 0,
    max_rows: MaxRows = 20,
) -> DistributionChangeResult:
    """Why did the mean of ``target`` change from period a to period b?  Attribute the change [target's unit] to
    the causal mechanisms that changed (DoWhy GCM distribution-change attribution, Shapley values).

    Parameters
    ----------
    data_csv : str
        CSV under the data roots (or the output folder): ``time`` and one numeric column per node [node's unit].
    target : str
        The node whose mean changed.
    period_a, period_b : list of str
        ``[start, end]`` ISO 8601 times (inclusive) of the reference and the compared period.
    edges, grid_id, trafo
        The causal graph, as in :func:`attribute_anomaly`.
    seed : int, default 0
    max_rows : int, default 20

    Returns
    -------
    DistributionChangeResult
        The change of the mean [target's unit] and each node's contribution to it, the mechanisms found changed.

    Raises
    ------
    InputError
        As :func:`attribute_anomaly`, and periods that are not two readable times.

    References
    ----------
    .. [1] Budhathoki, K. et al. (2021). Why did the distribution change? AISTATS, PMLR 130:1666-1674.
    """
    frame = _read_csv(data_csv)
    graph = _graph_for(frame, edges, grid_id, trafo)
    return change_frame(frame, graph, target, period_a, period_b, seed=seed, max_rows=max_rows, field="data_csv")
