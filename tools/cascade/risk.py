"""Cascade risk over an ensemble of initiating outages: blackout-size distribution, dangerous initiators, weak branches.

An ensemble (every N-1 branch outage, a sample of N-2 branch pairs, or a list of initiators) is run through the
quasi-steady-state cascade model (:func:`gridsage.tools.cascade._model.cascade_on_net`, OPA / Manchester model
family) one cascade per initiator, and summarised as the OPA studies do: the distribution of load lost, the
probability of a blackout larger than a threshold, the initiators that lose the most load, the branches that trip
most often.  The sweep runs serially or on ``dask.distributed`` (a :class:`~distributed.LocalCluster` of worker
processes by default, or the scheduler named by ``DASK_SCHEDULER_ADDRESS``); each cascade is deterministic, so both
give the same outcomes.

References
----------
.. [1] I. Dobson, B. A. Carreras, V. E. Lynch, D. E. Newman, "An initial model for complex dynamics in electric
   power system blackouts", 34th HICSS, 2001; B. A. Carreras, V. E. Lynch, I. Dobson, D. E. Newman, "Complex
   dynamics of blackouts in power transmission systems", Chaos 14(3), 2004 (OPA; blackout-size distributions).
.. [2] D. P. Nedic, I. Dobson, D. S. Kirschen, B. A. Carreras, V. E. Lynch, "Criticality in a cascading failure
   blackout model", Int. J. Electrical Power & Energy Systems 28(9), 627-633, 2006 (Manchester model; load-shed
   distributions over sampled initiating outages).
.. [3] NERC TPL-001-5.1, Table 1: categories P1 (single contingency) and P7 / extreme events (multiple
   contingencies); no cascading.
.. [4] Dask.distributed documentation, "Client", "LocalCluster", "Futures" (``Client.scatter(broadcast=True)``,
   ``as_completed``), https://distributed.dask.org (version 2026.8.0).
"""

from __future__ import annotations

import contextlib
import re
import time
import warnings
from collections import Counter
from typing import Annotated, Callable, Literal

from pydantic import BaseModel, Field, StringConstraints

from gridsage.errors import InputError
from gridsage.knowledge.citation import Citation
from gridsage.tools.base import ToolResult, tool
from gridsage.tools.cascade._model import CascadeOptions, Curve, cascade_on_net, parse_outages, settings_of
from gridsage.tools.views import Brief, CompactView, head
from gridsage.tools.workspace import current_workspace

#: branch tables an ensemble takes its outages from (the tables the protection model watches)
ENSEMBLE_BRANCHES = ("line", "trafo", "trafo3w", "impedance")
#: the ensemble grammar: every N-1, N sampled N-2 pairs, or both
ENSEMBLE_PATTERN = r"^(n1|n2:\d{1,6}|n1\+n2:\d{1,6})$"
#: the tool runs at most this many cascades in one call
MAX_CASCADES = 5000
#: at most this many outages per initiator in an explicit list
MAX_SET_SIZE = 10
#: below this many cascades the tool runs serially (a LocalCluster costs seconds to start)
SERIAL_BELOW = 16
#: at most this many cascades per dask task (small batches balance cascades of very unequal length)
BATCH_MAX = 4
#: the LocalCluster's scheduler: no dashboard, its HTTP (metrics) server on a free loopback port, not 8787
LOCAL_SCHEDULER = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}
#: histogram bins of load lost [% of the pre-event load]: exactly 0, then (lower, upper]
LOSS_BINS_PERCENT = (0.0, 1.0, 5.0, 10.0, 25.0, 50.0, 100.0)
#: percentiles reported [%]
PERCENTILES = (50, 90, 99)
#: a compact view lists this many initiators and branches
TOP_BRIEF = 10

OutageRef = Annotated[str, StringConstraints(min_length=3, max_length=40, strip_whitespace=True)]
Status = Literal["stable", "stage_limit", "unsolved", "blackout", "error"]
MODEL_NAME = ("ensemble of quasi-steady-state cascades, OPA / Manchester model family (Dobson, Carreras et al. "
              "2001-2004; Nedic, Dobson, Kirschen et al. 2006)")


# --------------------------------------------------------------------------------------------------- the ensemble

def _ref_text(kind: str, index: int) -> str:
    return f"{kind}:{int(index)}"


def _branches(net) -> list[tuple[str, int]]:
    """In-service branches of :data:`ENSEMBLE_BRANCHES`, table by table in index order."""
    return [(kind, int(i)) for kind in ENSEMBLE_BRANCHES if kind in net and len(net[kind])
            for i in net[kind].index[net[kind].in_service.to_numpy(dtype=bool)]]


def initiator_sets(net, ensemble: str = "n1", initiators: list[list[str]] | None = None, seed: int = 0
                   ) -> list[tuple[tuple[str, int], ...]]:
    """The initiating-outage sets of an ensemble.

    Parameters
    ----------
    net : pandapower.pandapowerNet
        The grid (read only).
    ensemble : str, default 'n1'
        ``'n1'``: every in-service branch (line, trafo, trafo3w, impedance) alone, table by table in index order;
        ``'n2:N'``: ``N`` distinct unordered pairs of in-service branches, sampled uniformly without replacement;
        ``'n1+n2:N'``: both (the N-1 sets first) [-].
    initiators : list of list of str, optional
        Explicit outage-reference lists, e.g. ``[['line:29'], ['line:29', 'gen:2']]``; when given they win over
        ``ensemble`` [-].
    seed : int, default 0
        Seed of :func:`numpy.random.default_rng` for the N-2 sample [-].

    Returns
    -------
    list of tuple of (str, int)
        One tuple of ``(kind, index)`` outages per cascade [-].

    Raises
    ------
    InputError
        If ``ensemble`` does not match :data:`ENSEMBLE_PATTERN`, asks for no pairs or more pairs than exist (field
        ``ensemble``), if ``initiators`` is empty (field ``initiators``), or an entry is malformed, names an element
        twice or one already out of service (field ``initiators[i]``).
    UnknownElementError
        If an entry names an element the grid lacks (field ``initiators[i]``).

    Notes
    -----
    With :math:`n` branches there are :math:`n(n-1)/2` pairs; the sample draws ``N`` distinct pair numbers
    :math:`k` with ``default_rng(seed).choice(n(n-1)/2, N, replace=False)`` and maps :math:`k` to the :math:`k`-th
    pair of ``itertools.combinations(branches, 2)`` (lexicographic order of the branch list; row :math:`i` starts
    at :math:`\\sum_{r<i} (n-1-r)`, so no pair list is built), so a seed always gives the same pairs on the same
    grid.

    References
    ----------
    .. [1] NERC TPL-001-5.1, Table 1 (P1 single and P7 / extreme multiple contingencies).
    .. [2] Nedic, Dobson, Kirschen, Carreras, Lynch, IJEPES 28(9), 2006 (sampled initiating outages).
    """
    if initiators is not None:
        if not initiators:
            raise InputError("initiators is an empty list", field="initiators",
                             fix="give at least one list of outages, e.g. [['line:29']], or leave it out to use ensemble.")
        sets = []
        for i, refs in enumerate(initiators):
            where = f"initiators[{i}]"
            if not refs:
                raise InputError("an initiator with no outage", field=where, fix="name at least one outage, e.g. ['line:29'].")
            sets.append(tuple(parse_outages(net, list(refs), where)))
        return sets
    text = (ensemble or "").strip().lower()
    if not re.match(ENSEMBLE_PATTERN, text):
        raise InputError(f"ensemble {ensemble[:40]!r} is not 'n1', 'n2:N' or 'n1+n2:N'", field="ensemble",
                         fix="write 'n1' (every single branch outage), 'n2:1000' (1,000 sampled branch pairs) or "
                             "'n1+n2:1000' (both).")
    branches = _branches(net)
    sets: list[tuple[tuple[str, int], ...]] = []
    if text.startswith("n1"):
        sets.extend((b,) for b in branches)
    if "n2:" in text:
        wanted = int(text.rsplit(":", 1)[1])
        pairs = len(branches) * (len(branches) - 1) // 2
        if wanted < 1 or wanted > pairs:
            raise InputError(f"ensemble asks for {wanted} N-2 pairs; the grid's {len(branches)} in-service branches "
                             f"form {pairs}", field="ensemble", fix=f"ask for 1 to {pairs} pairs, e.g. 'n2:{min(pairs, 1000)}'.")
        import numpy as np

        picks = np.random.default_rng(seed).choice(pairs, size=wanted, replace=False)
        # the k-th pair of combinations(branches, 2) without listing them all: row i (pairs (i, j > i)) starts at
        # starts[i] = sum of (n - 1 - r) for r < i
        n = len(branches)
        starts = np.concatenate([[0], np.cumsum(np.arange(n - 1, 0, -1))])
        rows = np.searchsorted(starts, picks, side="right") - 1
        cols = rows + 1 + (picks - starts[rows])
        sets.extend((branches[int(i)], branches[int(j)]) for i, j in zip(rows, cols))
    return sets


# --------------------------------------------------------------------------------------------------- one outcome

class EnsembleOutcome(BaseModel):
    """One cascade of an ensemble, in figures."""

    outages: list[str] = Field(description="The initiating outages, '<kind>:<index>'.")
    status: Status = Field(description=(
        "As simulate_cascade ('stable', 'stage_limit', 'unsolved', 'blackout'), or 'error': the model raised (see "
        "error; its figures are 0)."))
    pre_event_load_mw: float = Field(description="Load served before the event [MW] (the same for every cascade).")
    load_lost_mw: float = Field(description="Load lost [MW].")
    load_lost_percent: float = Field(description="Load lost [% of the pre-event load].")
    generation_lost_mw: float = Field(description="Generation lost [MW].")
    trip_count: int = Field(description="Branches tripped by overload protection.")
    tripped: list[str] = Field(default_factory=list, description="Branches tripped by overload, in order, '<kind>:<index>'.")
    stage_count: int = Field(description="Power-flow stages solved.")
    dc_stage_count: int = Field(description="Stages solved DC because AC had no solution.")
    duration_s: float = Field(description="Simulated time from the initiating outages to the last event [s].")
    error: str | None = Field(default=None, description="The model's error type and message, when status is 'error'.")


def _outcome(net, outages: tuple[tuple[str, int], ...], options: CascadeOptions,
             presolved: bool = False) -> EnsembleOutcome:
    """Run one cascade and reduce it to its figures (an exception becomes status 'error')."""
    refs = [_ref_text(k, i) for k, i in outages]
    try:
        with warnings.catch_warnings():  # a collapsing AC solve warns (singular Jacobian) on every attempt
            warnings.simplefilter("ignore")
            run = cascade_on_net(net, list(outages), options, presolved=presolved)
    except Exception as exc:  # noqa: BLE001 - one failing cascade must not sink the ensemble; it is reported
        return EnsembleOutcome(outages=refs, status="error", pre_event_load_mw=0.0, load_lost_mw=0.0, load_lost_percent=0.0,
                               generation_lost_mw=0.0, trip_count=0, stage_count=0, dc_stage_count=0, duration_s=0.0,
                               error=f"{type(exc).__name__}: {str(exc)[:200]}")
    tripped = [_ref_text(e.element.element, e.element.index) for e in run.events
               if e.cause == "overload_trip" and e.element is not None]
    pct = 100.0 * run.load_lost_mw / run.pre_event_load_mw if run.pre_event_load_mw > 0 else 0.0
    return EnsembleOutcome(outages=refs, status=run.status, pre_event_load_mw=run.pre_event_load_mw,
                           load_lost_mw=run.load_lost_mw,
                           load_lost_percent=round(pct, 2), generation_lost_mw=run.generation_lost_mw,
                           trip_count=len(tripped), tripped=tripped, stage_count=len(run.stages),
                           dc_stage_count=sum(s.solution == "dc" for s in run.stages), duration_s=run.time_s)


def _solved(net):
    """A copy of ``net`` with its pre-event solution, as :func:`cascade_on_net` would solve it (AC, else DC)."""
    import copy

    from gridsage.tools.grid.power_flow import solve

    base = copy.deepcopy(net)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not solve(base, "ac")[-1].converged:
            solve(base, "dc")
    return base


def _run_batch(net, batch: list[tuple[tuple[str, int], ...]], options: CascadeOptions) -> list[EnsembleOutcome]:
    """A dask task: the cascades of ``batch`` on the worker's copy of ``net`` (solved pre-event), in order."""
    return [_outcome(net, outages, options, presolved=True) for outages in batch]


def warm_worker() -> None:
    """Import the model's heavy modules (pandapower and its topology, about 3-4 s) in a worker before the sweep."""
    from gridsage.tools.cascade._model import _topology

    _topology()


def _quiet_worker() -> None:
    """On a worker process of our own LocalCluster: send fd 1 and sys.stdout to stderr (MCP stdio carries JSON-RPC
    on stdout; nothing a library prints may land there), then warm it up."""
    import os
    import sys

    sys.stdout.flush()
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    warm_worker()


# --------------------------------------------------------------------------------------------------- the sweep

def cascade_ensemble(net, sets, options: CascadeOptions | None = None, *, scheduler: str | None = None,
                     workers: int = 2, serial: bool = False,
                     progress: Callable[[int, int], None] | None = None) -> list[EnsembleOutcome]:
    """Run one cascade per initiator set, serially or on ``dask.distributed``; outcomes in the order of ``sets``.

    Parameters
    ----------
    net : pandapower.pandapowerNet
        The grid before the event (read only: every cascade runs on its own copy).
    sets : list of tuple of (str, int)
        Initiating-outage sets, as :func:`initiator_sets` returns them [-].
    options : CascadeOptions, optional
        Model settings, the same for every cascade; default the corpus figures.
    scheduler : str, optional
        Address of a running dask scheduler, e.g. ``'tcp://10.0.0.5:8786'``.  Default: dask's configured
        ``scheduler-address`` (environment ``DASK_SCHEDULER_ADDRESS``) if set, else a LocalCluster started here.
    workers : int, default 2
        Worker processes of the LocalCluster started here (1 thread each: pandapower holds the GIL) [-].
    serial : bool, default False
        Run a plain loop in this process instead (no dask).
    progress : callable(done, total), optional
        Called as cascades finish (``done`` counts cascades, in completion order) [-].

    Returns
    -------
    list of EnsembleOutcome
        One per set, in the order of ``sets``: status, load lost [MW] and [%], generation lost [MW], branches
        tripped, stages, simulated duration [s].

    Raises
    ------
    InputError
        If ``workers`` is below 1 (field ``workers``).
    OSError, TimeoutError
        If the named scheduler cannot be reached.

    Notes
    -----
    The net is sent to every worker once (``Client.scatter(..., broadcast=True)``); the sets go out in tasks of at
    most :data:`BATCH_MAX` cascades, so that the per-task cost (about a millisecond) stays small beside a cascade
    (0.1 s to tens of seconds on IEEE 118) while long cascades still spread over the workers.  Each cascade is a
    deterministic function of (net, set, options), so the outcomes equal a serial run's exactly.  A
    LocalCluster is started on 127.0.0.1 with ``processes=True``, ``threads_per_worker=1``, no dashboard and its
    logs at ERROR, its workers' stdout sent to stderr, and closed afterwards; a client to a named scheduler is closed, the
    scheduler left running (its workers must have GridSage installed, the same version).

    References
    ----------
    .. [1] Dask.distributed documentation: Client, LocalCluster, Client.scatter, as_completed (2026.8.0).
    """
    options = options or CascadeOptions()
    sets = [tuple(s) for s in sets]
    total = len(sets)
    if workers < 1:
        raise InputError(f"workers is {workers}", field="workers", fix="use 1 or more worker processes.")
    net = _solved(net)  # the pre-event state, solved once for every cascade
    if serial or total == 0:
        out = []
        for k, outages in enumerate(sets, 1):
            out.append(_outcome(net, outages, options, presolved=True))
            if progress:
                progress(k, total)
        return out

    import logging

    import dask
    from distributed import Client, LocalCluster, as_completed

    address = scheduler or dask.config.get("scheduler-address", None)
    with contextlib.ExitStack() as stack:
        if address:
            client = stack.enter_context(Client(address))
        else:
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                silence_logs=logging.ERROR, scheduler_kwargs=LOCAL_SCHEDULER))
            client = stack.enter_context(Client(cluster))
            client.run(_quiet_worker)
        running = len(client.scheduler_info().get("workers", {})) or workers
        size = max(1, min(BATCH_MAX, total // (8 * running) or 1))
        batches = [sets[i:i + size] for i in range(0, total, size)]
        [net_future] = client.scatter([net], broadcast=True, hash=False)
        futures = {client.submit(_run_batch, net_future, batch, options, pure=False): k
                   for k, batch in enumerate(batches)}
        results: list[list[EnsembleOutcome] | None] = [None] * len(batches)
        done = 0
        for future in as_completed(list(futures)):
            k = futures[future]
            results[k] = future.result()
            done += len(results[k])
            if progress:
                progress(done, total)
            future.release()
        client.cancel([net_future])
    return [o for batch in results for o in batch]


# --------------------------------------------------------------------------------------------------- statistics

class LossDistribution(BaseModel):
    """Load lost over the ensemble (every cascade weighted equally)."""

    mean_mw: float = Field(description="Mean load lost [MW] (= expected load lost with equal initiator weights).")
    p50_mw: float = Field(description="Median [MW].")
    p90_mw: float = Field(description="90th percentile [MW].")
    p99_mw: float = Field(description="99th percentile [MW].")
    max_mw: float = Field(description="Largest [MW].")
    mean_percent: float = Field(description="Mean [% of the pre-event load].")
    p50_percent: float = Field(description="Median [%].")
    p90_percent: float = Field(description="90th percentile [%].")
    p99_percent: float = Field(description="99th percentile [%].")
    max_percent: float = Field(description="Largest [%].")


class LossBin(Brief):
    """One bin of the blackout-size histogram."""

    bin: str = Field(description="'0' (no load lost) or '(lower, upper] %' of the pre-event load.")
    lower_percent: float = Field(description="Lower edge [%] (excluded, except the '0' bin).")
    upper_percent: float = Field(description="Upper edge [%] (included).")
    count: int = Field(description="Cascades in the bin.")
    share: float = Field(description="count / cascades [-].")


class InitiatorRisk(Brief):
    """An initiator ranked by the load its cascade loses."""

    outages: list[str]
    status: Status
    load_lost_mw: float = Field(description="[MW]")
    load_lost_percent: float = Field(description="[% of the pre-event load]")
    trip_count: int


class BranchTrips(Brief):
    """A branch that overload protection tripped in some cascades."""

    branch: str = Field(description="'<kind>:<index>'.")
    trips: int = Field(description="Cascades in which it tripped by overload (it trips at most once in each).")
    share: float = Field(description="trips / cascades [-].")


def _percentile(values: list[float], q: float) -> float:
    import numpy as np

    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else 0.0


def loss_distribution(outcomes: list[EnsembleOutcome]) -> LossDistribution:
    """Mean, percentiles (numpy's linear interpolation, Hyndman-Fan type 7) and maximum of the load lost.

    Parameters
    ----------
    outcomes : list of EnsembleOutcome
        The ensemble's cascades [-].

    Returns
    -------
    LossDistribution
        In [MW] and [% of the pre-event load], rounded to 0.01 (0 for an empty ensemble).

    Notes
    -----
    :math:`\\bar L = \\frac1n \\sum_i L_i`; the :math:`q`-th percentile interpolates linearly between the order
    statistics at rank :math:`(n-1)q/100`.

    References
    ----------
    .. [1] R. J. Hyndman, Y. Fan, "Sample quantiles in statistical packages", The American Statistician 50(4), 1996.
    """
    mw = [o.load_lost_mw for o in outcomes]
    pct = [o.load_lost_percent for o in outcomes]
    mean = (lambda v: sum(v) / len(v) if v else 0.0)
    fields = {"mean_mw": mean(mw), "max_mw": max(mw, default=0.0), "mean_percent": mean(pct),
              "max_percent": max(pct, default=0.0)}
    for q in PERCENTILES:
        fields[f"p{q}_mw"] = _percentile(mw, q)
        fields[f"p{q}_percent"] = _percentile(pct, q)
    return LossDistribution(**{k: round(v, 2) for k, v in fields.items()})


def above_threshold(outcomes: list[EnsembleOutcome], threshold_percent: float) -> tuple[int, float]:
    """Cascades losing more than ``threshold_percent`` of the pre-event load: their count and share [-].

    Parameters
    ----------
    outcomes : list of EnsembleOutcome
    threshold_percent : float
        X of P(load lost > X %) [% of the pre-event load].

    Returns
    -------
    (int, float)
        Count and probability (count / cascades, 0 for no cascades; every initiator weighted equally) [-].
    """
    above = sum(o.load_lost_percent > threshold_percent for o in outcomes)
    return above, round(above / len(outcomes), 4) if outcomes else 0.0


def loss_histogram(outcomes: list[EnsembleOutcome]) -> list[LossBin]:
    """The blackout-size histogram: cascades per bin of load lost.

    Parameters
    ----------
    outcomes : list of EnsembleOutcome

    Returns
    -------
    list of LossBin
        '0' (no load lost), then the bins (lower, upper] of :data:`LOSS_BINS_PERCENT` [% of the pre-event load],
        each with its count and share of the cascades [-].
    """
    n = len(outcomes) or 1
    bins = [LossBin(bin="0", lower_percent=0.0, upper_percent=0.0,
                    count=sum(o.load_lost_mw <= 0.0 for o in outcomes), share=0.0)]
    for lo, hi in zip(LOSS_BINS_PERCENT, LOSS_BINS_PERCENT[1:]):
        bins.append(LossBin(bin=f"({lo:g}, {hi:g}] %", lower_percent=lo, upper_percent=hi, share=0.0,
                            count=sum(o.load_lost_mw > 0.0 and (lo < o.load_lost_percent <= hi or
                                                                (lo == 0.0 and o.load_lost_percent <= 0.0))
                                      for o in outcomes)))
    for b in bins:
        b.share = round(b.count / n, 4)
    return bins


def most_dangerous(outcomes: list[EnsembleOutcome], top: int) -> list[InitiatorRisk]:
    """The most dangerous initiators.

    Parameters
    ----------
    outcomes : list of EnsembleOutcome
    top : int
        How many to return [-].

    Returns
    -------
    list of InitiatorRisk
        The ``top`` initiators by load lost [MW], ties broken by trips, then by ensemble order.
    """
    order = sorted(range(len(outcomes)), key=lambda k: (-outcomes[k].load_lost_mw, -outcomes[k].trip_count, k))
    return [InitiatorRisk(outages=o.outages, status=o.status, load_lost_mw=o.load_lost_mw,
                          load_lost_percent=o.load_lost_percent, trip_count=o.trip_count)
            for o in (outcomes[k] for k in order[:top])]


def most_tripped(outcomes: list[EnsembleOutcome], top: int) -> list[BranchTrips]:
    """The branches that trip most often.

    Parameters
    ----------
    outcomes : list of EnsembleOutcome
    top : int
        How many to return [-].

    Returns
    -------
    list of BranchTrips
        The ``top`` branches by the number of cascades that tripped them (a branch counts once per cascade), with
        that count's share of the cascades [-]; ties in order of first appearance.
    """
    counts = Counter(b for o in outcomes for b in dict.fromkeys(o.tripped))
    n = len(outcomes) or 1
    return [BranchTrips(branch=b, trips=c, share=round(c / n, 4)) for b, c in counts.most_common(top)]


# --------------------------------------------------------------------------------------------------- the tool

class CascadeRiskFigures(ToolResult):
    """An ensemble's figures (the full result and its compact view share these)."""

    status: Literal["ok", "partial"] = Field(description="'ok'; 'partial' when some cascades ended in 'error'.")
    grid_id: str
    model: str = Field(default=MODEL_NAME)
    ensemble: str = Field(description="'n1', 'n2:N', 'n1+n2:N', or 'initiators' for an explicit list.")
    cascades: int = Field(description="Cascades run (one per initiator).")
    status_counts: dict[str, int] = Field(description="Cascades per status.")
    pre_event_load_mw: float = Field(description="Load served before any event [MW].")
    loss: LossDistribution
    loss_threshold_percent: float = Field(description="The X of P(load lost > X %) [%].")
    probability_above_threshold: float = Field(description="Share of cascades losing more than the threshold [-].")
    count_above_threshold: int = Field(description="Cascades losing more than the threshold.")
    expected_load_lost_mw: float = Field(description="Mean load lost with equal initiator weights [MW].")
    elapsed_s: float = Field(description="Wall time of the sweep [s].")
    executed: str = Field(description="'serial' or 'dask' and where.")


class CascadeRiskResult(CascadeRiskFigures):
    """A cascade ensemble: its blackout-size distribution, most dangerous initiators, most tripped branches."""

    histogram: list[LossBin] = Field(description="Cascades per bin of load lost [% of the pre-event load].")
    top_initiators: list[InitiatorRisk] = Field(description="The most dangerous initiators (load lost, then trips).")
    most_tripped: list[BranchTrips] = Field(description="Branches tripping in the most cascades.")
    most_tripped_omitted: int = Field(default=0, description="Further branches that tripped somewhere.")
    outcomes: list[EnsembleOutcome] = Field(description="Every cascade in ensemble order (the first max_rows).")
    outcomes_omitted: int = Field(default=0, description="Outcomes left out by max_rows.")
    settings: dict = Field(default_factory=dict, description="The model settings used (curve constants, UVLS, UFLS, droop).")
    citations: list[Citation] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    def compact(self) -> "CascadeRiskView":
        """Figures, the histogram, the first initiators and branches; outcomes stay in the evidence."""
        return CascadeRiskView.of(
            self, notes=self.notes, citations=self.citations,
            **{k: getattr(self, k) for k in CascadeRiskFigures.model_fields if k not in ToolResult.model_fields},
            histogram=self.histogram,
            lists={"top_initiators": head(self.top_initiators, TOP_BRIEF),
                   "most_tripped": head(self.most_tripped, TOP_BRIEF),
                   "outcomes": ([], len(self.outcomes))})


class CascadeRiskView(CompactView, CascadeRiskFigures):
    """A cascade ensemble as models and MCP clients receive it; every outcome is in the evidence behind evidence_id."""

    histogram: list[LossBin] = Field(default_factory=list)
    top_initiators: list[InitiatorRisk] = Field(default_factory=list, description=f"The first {TOP_BRIEF}.")
    most_tripped: list[BranchTrips] = Field(default_factory=list, description=f"The first {TOP_BRIEF}.")

    def headline(self) -> str:
        worst = self.top_initiators[0] if self.top_initiators else None
        text = (f"{self.cascades} cascades: mean {self.loss.mean_percent:.1f} % load lost, p99 "
                f"{self.loss.p99_percent:.1f} %, max {self.loss.max_percent:.1f} %; P(> {self.loss_threshold_percent:g} %) "
                f"= {self.probability_above_threshold:.3f}")
        if worst and worst.load_lost_mw > 0:
            text += f"; worst {'+'.join(worst.outages)} ({worst.load_lost_mw:.0f} MW)"
        return text


def _settings_dict(options: CascadeOptions) -> tuple[dict, list[Citation]]:
    s, citations = settings_of(options)
    return ({"curve": options.curve, "time_dial": s.td, "pickup_percent": s.pickup, "a_s": s.a, "b_s": s.b, "p": s.p,
             "uvls_vm_pu": s.uv_pu if s.uvls else None, "uvls_delay_s": s.uv_delay if s.uvls else None,
             "uvls_step_percent": s.uv_step if s.uvls else None,
             "ufls_stages_hz_percent": s.stages if s.ufls else [], "droop_percent": s.droop * 100,
             "f_hz_nominal": s.f0, "max_stages": s.max_stages}, citations)


@tool
def cascade_risk(
    grid_id: Annotated[str, Field(max_length=128, description="Grid to study, as returned by load_grid (left unchanged).")],
    ensemble: Annotated[str, Field(max_length=16, pattern=ENSEMBLE_PATTERN, description=(
        "'n1': every in-service branch alone; 'n2:N': N sampled pairs of branches; 'n1+n2:N': both. Ignored when "
        "initiators is given."))] = "n1",
    initiators: Annotated[list[Annotated[list[OutageRef], Field(min_length=1, max_length=MAX_SET_SIZE)]] | None, Field(
        max_length=MAX_CASCADES, description=(
            "Explicit initiators, each a list of '<kind>:<index>' outages, e.g. [['line:29'], ['line:29', 'gen:2']].")
    )] = None,
    loss_threshold_percent: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False, description=(
        "Report the probability of losing more than this share of the load [%]."))] = 10.0,
    seed: Annotated[int, Field(ge=0, le=2**32 - 1, description="Seed of the N-2 sample.")] = 0,
    curve: Annotated[Curve, Field(description="IEEE C37.112 curve of the branch relays.")] = "very_inverse",
    time_dial: Annotated[float, Field(gt=0, le=100, allow_inf_nan=False, description="Relay time dial TD [-].")] = 1.0,
    pickup_percent: Annotated[float, Field(gt=0, le=500, allow_inf_nan=False, description="Relay pickup [% of rating].")] = 100.0,
    uvls: Annotated[bool, Field(description="Model under-voltage load shedding (0.90 pu, 3 s, 10 % blocks).")] = True,
    ufls: Annotated[bool, Field(description="Model under-frequency load shedding in islands short of generation.")] = True,
    max_stages: Annotated[int, Field(ge=1, le=1000, description="Stage limit per cascade (bounds run time).")] = 100,
    top: Annotated[int, Field(ge=1, le=1000, description="Initiators and branches ranked.")] = 10,
    max_rows: Annotated[int, Field(ge=0, le=MAX_CASCADES, description="Outcomes listed in the full result.")] = 200,
) -> CascadeRiskResult:
    """Cascade risk over an ensemble of initiating outages: how much load is lost, how often, by which outages.

    Runs one quasi-steady-state cascade (as simulate_cascade) per initiator - every N-1 branch outage, a seeded
    sample of N-2 branch pairs, or a given list - and reports the blackout-size distribution, the probability of
    losing more than ``loss_threshold_percent``, the initiators that lose the most load and the branches that trip
    most often.  Large ensembles run on dask.distributed (a LocalCluster, or the cluster of DASK_SCHEDULER_ADDRESS);
    the outcomes are the same as a serial run's.

    Parameters
    ----------
    grid_id : str
        Grid in the workspace (never changed; each cascade runs on a copy).
    ensemble : {'n1', 'n2:N', 'n1+n2:N'}, default 'n1'
        Initiator ensemble [-]; see :func:`initiator_sets`.
    initiators : list of list of str, optional, up to 5000 lists of 1..10
        Explicit initiators, ``'<kind>:<index>'`` [-]; win over ``ensemble``.
    loss_threshold_percent : float, default 10
        Threshold X of P(load lost > X) [% of the pre-event load].
    seed : int, default 0
        Seed of the N-2 sample [-].
    curve, time_dial, pickup_percent, uvls, ufls, max_stages
        Model settings, as simulate_cascade (IEEE C37.112 curve, TD [-], pickup [% of rating], UVLS / UFLS on or
        off, stage limit [-]).
    top : int, default 10
        Initiators and branches ranked [-].
    max_rows : int, default 200
        Outcomes listed; ``outcomes_omitted`` counts the rest [-].

    Returns
    -------
    CascadeRiskResult
        Cascade count and status counts; load lost mean, p50, p90, p99 and maximum [MW] and [%]; histogram of load
        lost [%]; P(load lost > X) [-] and its count; expected load lost [MW]; the most dangerous initiators; the
        branches tripping most often with their share of cascades [-]; the outcomes; settings, citations, wall
        time [s].  Models and MCP clients receive :class:`CascadeRiskView`.

    Raises
    ------
    UnknownGridError
        If ``grid_id`` is not loaded.
    InputError
        If ``ensemble`` is malformed or asks for more pairs than exist or more than 5000 cascades in all (field
        ``ensemble``), or an initiator is malformed, repeats an element or names one out of service
        (``initiators[i]``).
    UnknownElementError
        If an initiator names an element the grid lacks (``initiators[i]``).

    Notes
    -----
    With outcomes :math:`L_1..L_n` [MW] and pre-event load :math:`P_0`: expected load lost
    :math:`E[L] = \\frac1n\\sum_i L_i` (every initiator weighted equally, not by outage rates);
    :math:`P(L/P_0 > X) = \\#\\{i : 100 L_i / P_0 > X\\} / n`; percentiles by linear interpolation (Hyndman-Fan
    type 7).  A branch's share is the number of cascades in which its relay tripped over :math:`n`.

    References
    ----------
    .. [1] Dobson, Carreras, Lynch, Newman, HICSS 2001; Carreras, Lynch, Dobson, Newman, Chaos 14(3), 2004 (OPA).
    .. [2] Nedic, Dobson, Kirschen, Carreras, Lynch, IJEPES 28(9), 2006 (Manchester model).
    .. [3] IEEE C37.112-2018; NERC PRC-006-5; NERC PRC-010-2.1; NERC TPL-001-5.1 Table 1.
    .. [4] Dask.distributed documentation (LocalCluster, Client; DASK_SCHEDULER_ADDRESS), 2026.8.0.
    """
    grid = current_workspace().get(grid_id)
    net = grid.net
    if len(net.bus) > 20_000:
        raise InputError(f"the grid has {len(net.bus)} buses; the cascade model is bounded to 20,000", field="grid_id",
                         fix="study a smaller grid or an area of it.")
    sets = initiator_sets(net, ensemble, initiators, seed)
    if len(sets) > MAX_CASCADES:
        raise InputError(f"the ensemble holds {len(sets)} cascades; one call runs at most {MAX_CASCADES}",
                         field="ensemble", fix="sample fewer N-2 pairs, or pass a list of initiators.")
    options = CascadeOptions(curve=curve, time_dial=time_dial, pickup_percent=pickup_percent, uvls=uvls, ufls=ufls,
                             max_stages=max_stages)
    serial = len(sets) < SERIAL_BELOW
    start = time.perf_counter()
    # scheduler=None: a remote MCP client never picks the network address the sweep connects to
    outcomes = cascade_ensemble(net, sets, options, scheduler=None, serial=serial)
    elapsed = time.perf_counter() - start
    import dask

    address = dask.config.get("scheduler-address", None)
    executed = ("serial" if serial else "dask, scheduler from DASK_SCHEDULER_ADDRESS" if address
                else "dask, LocalCluster of 2 worker processes")
    n = len(outcomes)
    above, probability = above_threshold(outcomes, loss_threshold_percent)
    loss = loss_distribution(outcomes)
    settings, citations = _settings_dict(options)
    counts = Counter(o.status for o in outcomes)
    trips = most_tripped(outcomes, 10**9)
    notes = list(grid.notes)
    label = "initiators" if initiators is not None else ensemble.strip().lower()
    if initiators is not None:
        notes.append(f"{n} cascades, one per given initiator.")
    else:
        n1 = len(_branches(net)) if label.startswith("n1") else 0
        if n1:
            notes.append(f"N-1: all {n1} in-service branches (line, trafo, trafo3w, impedance), one cascade each.")
        if "n2:" in label:
            b = len(_branches(net))
            notes.append(f"N-2: {n - n1} pairs sampled uniformly without replacement from the {b * (b - 1) // 2} "
                         f"branch pairs (numpy default_rng seed {seed}); its figures are sample estimates.")
    notes.append("Every initiator weighs the same: the expected load lost and P(> X %) are ensemble averages, not "
                 "weighted by outage rates.")
    dc = sum(o.dc_stage_count > 0 for o in outcomes)
    if dc:
        notes.append(f"{dc} cascade(s) had stages with no AC solution, solved DC (a sign of voltage collapse).")
    if counts.get("error"):
        notes.append(f"{counts['error']} cascade(s) ended in a model error (status 'error', figures 0): see outcomes.")
    notes.append("Model caveats as simulate_cascade: relays without thermal memory, static island frequency.")
    pre = next((o.pre_event_load_mw for o in outcomes if o.status != "error"), 0.0)
    return CascadeRiskResult(
        status="partial" if counts.get("error") else "ok", grid_id=grid_id, ensemble=label, cascades=n,
        status_counts=dict(sorted(counts.items())), pre_event_load_mw=round(pre, 3), loss=loss,
        loss_threshold_percent=loss_threshold_percent, probability_above_threshold=probability,
        count_above_threshold=above, expected_load_lost_mw=loss.mean_mw, elapsed_s=round(elapsed, 3),
        executed=executed, histogram=loss_histogram(outcomes), top_initiators=most_dangerous(outcomes, top),
        most_tripped=trips[:top], most_tripped_omitted=max(0, len(trips) - top),
        outcomes=outcomes[:max_rows], outcomes_omitted=max(0, n - max_rows), settings=settings, citations=citations,
        notes=notes)
