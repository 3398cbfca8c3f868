"""Cascade ensembles (cascade_risk) against hand computations, plain-pandas counts and a serial run.

Oracles: the ensemble counts come from the grid's tables read with pandas and from n(n-1)/2; the statistics are
worked out by hand below from outcome lists written out here; the hand grid's cascades are worked out in the
docstring of :func:`hand_grid_net` with the corpus figures restated in ``test_cascade.py`` (IEEE C37.112 very
inverse TD 1; ERCOT UFLS 5 % at 59.3 Hz, 10 % at 58.9 Hz, 10 % at 58.5 Hz; 5 % droop).  The dask runs are checked
against the serial loop of the same code, which is the property the issue asks for (identical outcomes).
"""

from __future__ import annotations

import itertools
import math

import dask
import numpy as np
import pandapower as pp
import pytest

from gridsage.errors import InputError, UnknownElementError
from gridsage.tools.cascade import cascade_on_net
from gridsage.tools.cascade import risk
from gridsage.tools.cascade.risk import (EnsembleOutcome, cascade_ensemble, cascade_risk, initiator_sets, loss_distribution,
                                         loss_histogram, most_dangerous, most_tripped)
from gridsage.tools.workspace import Grid

SQRT3 = math.sqrt(3)
LINE = dict(r_ohm_per_km=0.05, x_ohm_per_km=0.4, c_nf_per_km=0.0)


def ka(mva: float, kv: float = 110.0) -> float:
    """Current of ``mva`` at ``kv`` [kA]: I = S / (sqrt(3) V)."""
    return mva / (SQRT3 * kv)


def hand_grid_net():
    """Four 110 kV buses, two equal paths from the source to the load bus, a unit at the load bus, a spur.

    ::

        bus 0 (ext_grid) --- line 0, 20 km, rated 80 MVA ------------------ bus 1 (load 80 MW, gen 0: 20 MW, Pmax 100)
           |                                                                 |
           +-- line 1, 10 km, rated 50 MVA -- bus 2 -- line 2, 10 km, rated 60 MVA
                                                                             |
                                                               line 3, 10 km -- bus 3 (load 10 MW)

    Hand computation of the N-1 ensemble (equal impedance per km, so flows split by path length; 90 MW of load,
    20 MW from gen 0, 70 MW imported, 35 MW per path before the event):

    * line 0 out: 70 MW over path B; line 1 (50 MVA) at M = 1.4 trips after 19.61/(1.96-1) + 0.491 = 20.9 s
      (line 2 at 70/60 = 1.17 would need 54.8 s and resets).  Buses 1-3 are an island with gen 0: short by 70 MW of
      its 100 MW, f = 60 (1 - 0.05 * 0.70) = 57.90 Hz; UFLS sheds 4.5 MW (5 % of 90), f 58.035; 9 MW, f 58.305;
      9 MW, f 58.575 >= 58.5: stop.  Lost 22.5 MW = 25 % of 90 MW, 1 trip (line 1).
    * line 1 out, or line 2 out: 70 MW over line 0, 70/80 = 88 % of its rating: nothing trips, nothing lost.
    * line 3 out: bus 3 goes dark, 10 MW = 11.11 % lost; 60 MW then splits 30/30 (line 1 at 60 %): no trip.

    So the most dangerous initiator is line 0 (22.5 MW), then line 3 (10 MW); the branch tripping most often is
    line 1, in 1 of the 4 cascades (share 0.25), and it is the only one.  Load lost [MW] in ensemble order:
    [22.5, 0, 0, 10]; in %: [25, 0, 0, 11.11].
    """
    net = pp.create_empty_network()
    b = [pp.create_bus(net, 110.0) for _ in range(4)]
    pp.create_ext_grid(net, b[0], vm_pu=1.0)
    pp.create_load(net, b[1], p_mw=80.0, q_mvar=0.0)
    pp.create_load(net, b[3], p_mw=10.0, q_mvar=0.0)
    pp.create_gen(net, b[1], p_mw=20.0, vm_pu=1.0, max_p_mw=100.0, min_p_mw=0.0, max_q_mvar=100.0, min_q_mvar=-100.0)
    pp.create_line_from_parameters(net, b[0], b[1], 20.0, max_i_ka=ka(80), **LINE)  # line 0: path A
    pp.create_line_from_parameters(net, b[0], b[2], 10.0, max_i_ka=ka(50), **LINE)  # line 1: path B, first half
    pp.create_line_from_parameters(net, b[2], b[1], 10.0, max_i_ka=ka(60), **LINE)  # line 2: path B, second half
    pp.create_line_from_parameters(net, b[1], b[3], 10.0, max_i_ka=ka(60), **LINE)  # line 3: spur to bus 3
    return net


@pytest.fixture(scope="module")
def hand_grid(workspace):
    workspace.add(Grid(grid_id="risk-hand", source="test", net=hand_grid_net()))
    return "risk-hand"


@pytest.fixture(scope="module")
def cluster():
    """One LocalCluster of 2 worker processes for the module (its start costs a few seconds)."""
    import logging

    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                      silence_logs=logging.ERROR, scheduler_kwargs=risk.LOCAL_SCHEDULER) as c:
        yield c


def outcome(lost_mw: float, pct: float, trips: list[str] = (), outages=("line:0",), status="stable") -> EnsembleOutcome:
    return EnsembleOutcome(outages=list(outages), status=status, pre_event_load_mw=1000.0, load_lost_mw=lost_mw,
                           load_lost_percent=pct, generation_lost_mw=0.0, trip_count=len(trips), tripped=list(trips),
                           stage_count=1, dc_stage_count=0, duration_s=0.0)


# ------------------------------------------------------------------------------------------------ initiator_sets

def test_n1_is_every_in_service_branch(case14, workspace):
    net = workspace.get(case14).net
    expected = [("line", int(i)) for i in net.line.index[net.line.in_service]] + \
               [("trafo", int(i)) for i in net.trafo.index[net.trafo.in_service]]
    assert len(expected) == 20  # case14: 15 lines + 5 transformers (MATPOWER case14 has 20 branches)
    assert initiator_sets(net, "n1") == [(b,) for b in expected]


def test_n2_samples_distinct_pairs_reproducibly(case14, workspace):
    net = workspace.get(case14).net
    a = initiator_sets(net, "n2:50", seed=3)
    branches = [s[0] for s in initiator_sets(net, "n1")]
    every = list(itertools.combinations(branches, 2))  # the documented order of the pairs, listed in full here
    assert a == [every[k] for k in np.random.default_rng(3).choice(190, size=50, replace=False)]
    assert len(a) == 50 and all(len(s) == 2 and s[0] != s[1] for s in a)
    assert len({frozenset(s) for s in a}) == 50  # distinct unordered pairs
    assert initiator_sets(net, "n2:50", seed=3) == a
    assert initiator_sets(net, "n2:50", seed=4) != a
    every = initiator_sets(net, "n2:190")  # 20 branches: 20 * 19 / 2 = 190 pairs, all of them
    assert len({frozenset(s) for s in every}) == 190
    both = initiator_sets(net, "n1+n2:50", seed=3)
    assert both == initiator_sets(net, "n1") + a


@pytest.mark.parametrize("ensemble", ["n3", "n2", "n2:", "n2:-1", "n1+n2", "all", "n2:0", "n2:191"])
def test_bad_ensembles_are_typed_errors_naming_the_field(case14, workspace, ensemble):
    with pytest.raises(InputError) as caught:
        initiator_sets(workspace.get(case14).net, ensemble)
    assert caught.value.field == "ensemble" and caught.value.fix


def test_initiators_win_and_are_validated(hand_grid, workspace):
    net = workspace.get(hand_grid).net
    assert initiator_sets(net, "n2:3", [["line:1", "gen:0"], ["line:3"]]) == [(("line", 1), ("gen", 0)), (("line", 3),)]
    with pytest.raises(UnknownElementError) as caught:
        initiator_sets(net, "n1", [["line:1"], ["line:9"]])
    assert caught.value.field == "initiators[1][0]" and caught.value.fix
    with pytest.raises(InputError) as caught:
        initiator_sets(net, "n1", [["bus:1"]])
    assert caught.value.field == "initiators[0][0]"
    with pytest.raises(InputError) as caught:
        initiator_sets(net, "n1", [])
    assert caught.value.field == "initiators"
    with pytest.raises(InputError) as caught:
        cascade_risk(hand_grid, ensemble="n4")
    assert caught.value.field == "ensemble"


# ------------------------------------------------------------------------------------------------ statistics

def test_statistics_equal_a_hand_computation():
    """Five outcomes, load lost [MW] 0, 0, 50, 100, 400 of 1000 MW (0, 0, 5, 10, 40 %).

    Mean 550/5 = 110 MW (11 %).  Sorted values, linear interpolation at rank (n-1) q = 4 q: p50 -> rank 2 -> 50 MW;
    p90 -> rank 3.6 -> 100 + 0.6 * 300 = 280 MW (10 + 0.6 * 30 = 28 %); p99 -> rank 3.96 -> 100 + 0.96 * 300 = 388
    MW.  P(> 10 %) = 1/5 = 0.2 (10 % itself is not above).  Histogram: '0' 2, (1, 5] 1, (5, 10] 1, (25, 50] 1.
    Most dangerous: the 400 MW one; a tie at 100 MW is broken by trips.  Branch trips: line:7 in 3 cascades (0.6),
    line:2 in 1 (0.2).
    """
    outs = [outcome(0, 0), outcome(0, 0), outcome(50, 5, ["line:7"], ("line:1",)),
            outcome(100, 10, ["line:7", "line:2"], ("line:2",)), outcome(400, 40, ["line:7"], ("line:3",))]
    d = loss_distribution(outs)
    assert (d.mean_mw, d.p50_mw, d.p90_mw, d.p99_mw, d.max_mw) == (110.0, 50.0, 280.0, 388.0, 400.0)
    assert (d.mean_percent, d.p50_percent, d.p90_percent, d.max_percent) == (11.0, 5.0, 28.0, 40.0)
    counts = {b.bin: b.count for b in loss_histogram(outs)}
    assert counts == {"0": 2, "(0, 1] %": 0, "(1, 5] %": 1, "(5, 10] %": 1, "(10, 25] %": 0, "(25, 50] %": 1,
                      "(50, 100] %": 0}
    assert [r.outages for r in most_dangerous(outs, 2)] == [["line:3"], ["line:2"]]
    tied = outs + [outcome(100, 10, [], ("line:9",))]
    assert [r.outages for r in most_dangerous(tied, 3)] == [["line:3"], ["line:2"], ["line:9"]]  # 1 trip beats 0
    assert [(b.branch, b.trips, b.share) for b in most_tripped(outs, 5)] == [("line:7", 3, 0.6), ("line:2", 1, 0.2)]


def test_the_tool_on_the_hand_grid(hand_grid):
    """N-1 on the hand grid (see hand_grid_net): 4 cascades, load lost [22.5, 0, 0, 10] MW of 90 MW.

    Mean 32.5 / 4 = 8.125 MW; sorted [0, 0, 10, 22.5]: p50 at rank 1.5 -> 5 MW, p90 at rank 2.7 -> 10 + 0.7 * 12.5
    = 18.75 MW; max 22.5 MW = 25 %.  P(> 10 %) = 2/4 = 0.5 (25 % and 11.11 %); P(> 20 %) = 1/4.  Histogram: '0' 2,
    (10, 25] 2.  Most dangerous line 0, then line 3; most tripped line 1 (1 of 4).
    """
    r = cascade_risk(hand_grid, ensemble="n1", loss_threshold_percent=10.0)
    assert r.evidence_id and r.status == "ok" and r.cascades == 4 and r.executed == "serial"
    assert [o.outages for o in r.outcomes] == [["line:0"], ["line:1"], ["line:2"], ["line:3"]]
    assert [o.load_lost_mw for o in r.outcomes] == pytest.approx([22.5, 0.0, 0.0, 10.0], abs=0.01)
    assert r.pre_event_load_mw == pytest.approx(90.0)
    assert r.loss.mean_mw == pytest.approx(8.125, abs=0.01) and r.expected_load_lost_mw == r.loss.mean_mw
    assert r.loss.p50_mw == pytest.approx(5.0, abs=0.01) and r.loss.p90_mw == pytest.approx(18.75, abs=0.01)
    assert r.loss.max_percent == pytest.approx(25.0, abs=0.02)
    assert (r.count_above_threshold, r.probability_above_threshold) == (2, 0.5)
    assert {b.bin: b.count for b in r.histogram if b.count} == {"0": 2, "(10, 25] %": 2}
    assert [t.outages for t in r.top_initiators[:2]] == [["line:0"], ["line:3"]]
    assert [(b.branch, b.trips, b.share) for b in r.most_tripped] == [("line:1", 1, 0.25)]
    assert r.status_counts == {"stable": 4}
    assert {c.entry_id for c in r.citations} >= {"ieee-c37-112-inverse-time-overcurrent", "nerc-prc-006-ufls"}
    assert r.settings["curve"] == "very_inverse" and any("N-1: all 4" in n for n in r.notes)
    assert cascade_risk(hand_grid, ensemble="n1", loss_threshold_percent=20.0).count_above_threshold == 1
    small = cascade_risk(hand_grid, ensemble="n1", max_rows=1, top=1)
    assert len(small.outcomes) == 1 and small.outcomes_omitted == 3 and len(small.top_initiators) == 1
    view = r.compact()
    assert view.omitted["outcomes"] == 4 and view.top_initiators[0].outages == ["line:0"]
    assert "4 cascades" in view.headline() and "line:0" in view.headline()


def test_an_outcome_equals_the_cascade_run_alone(hand_grid, workspace):
    net = workspace.get(hand_grid).net
    [got] = cascade_ensemble(net, [(("line", 0),)], serial=True)
    run = cascade_on_net(net, [("line", 0)])
    assert got.load_lost_mw == run.load_lost_mw == pytest.approx(22.5, abs=0.01)
    assert got.tripped == [f"line:{e.element.index}" for e in run.events if e.cause == "overload_trip"] == ["line:1"]
    assert (got.status, got.stage_count, got.duration_s) == (run.status, len(run.stages), run.time_s)


# ------------------------------------------------------------------------------------------------ dask

def test_dask_equals_serial(hand_grid, workspace, cluster):
    """All N-1 and all 6 N-2 pairs of the hand grid: 2 dask workers give exactly the serial outcomes."""
    net = workspace.get(hand_grid).net
    sets = initiator_sets(net, "n1+n2:6")
    serial = cascade_ensemble(net, sets, serial=True)
    seen = []
    on_dask = cascade_ensemble(net, sets, scheduler=cluster.scheduler_address, progress=lambda d, t: seen.append((d, t)))
    assert [o.model_dump() for o in on_dask] == [o.model_dump() for o in serial]
    assert seen[-1] == (10, 10) and all(t == 10 for _, t in seen) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert [o.outages for o in serial[:4]] == [["line:0"], ["line:1"], ["line:2"], ["line:3"]]
    assert "run_batch" in cluster.scheduler.task_prefixes  # the tasks ran on this scheduler
    assert len(cluster.workers) == 2  # our scheduler's workers are left running; only the client was closed


def test_dask_scheduler_address_from_config(hand_grid, workspace, cluster):
    """DASK_SCHEDULER_ADDRESS is dask's 'scheduler-address' setting: with it set, no LocalCluster is started."""
    net = workspace.get(hand_grid).net

    def batches_run() -> int:
        prefix = cluster.scheduler.task_prefixes.get("run_batch")
        return sum(prefix.state_counts.values()) if prefix is not None else 0

    before = batches_run()
    with dask.config.set({"scheduler-address": cluster.scheduler_address}):
        out = cascade_ensemble(net, [(("line", 3),), (("line", 0),)])
    assert [o.load_lost_mw for o in out] == pytest.approx([10.0, 22.5], abs=0.01)
    assert batches_run() > before  # the batches ran on the configured scheduler


def test_the_tool_on_a_local_cluster_prints_nothing_on_stdout(hand_grid, monkeypatch, capfd):
    """The MCP stdio transport carries JSON-RPC on stdout: a sweep on its own LocalCluster must not write there."""
    monkeypatch.setattr(risk, "SERIAL_BELOW", 1)  # run the 10-cascade ensemble through dask, not the serial path
    capfd.readouterr()
    r = cascade_risk(hand_grid, ensemble="n1+n2:6")
    out, _ = capfd.readouterr()
    assert out == ""
    assert r.executed.startswith("dask, LocalCluster") and r.cascades == 10
    serial = cascade_ensemble(risk.current_workspace().get(hand_grid).net, initiator_sets(
        risk.current_workspace().get(hand_grid).net, "n1+n2:6"), serial=True)
    assert [o.model_dump() for o in r.outcomes] == [o.model_dump() for o in serial]


def test_the_tool_bounds_the_ensemble(hand_grid, monkeypatch):
    """The hand grid has 4 branches, so 4 * 3 / 2 = 6 pairs: 7 is an error; and more cascades than the bound."""
    with pytest.raises(InputError) as caught:
        cascade_risk(hand_grid, ensemble="n2:7")
    assert caught.value.field == "ensemble" and "6" in caught.value.fix
    monkeypatch.setattr(risk, "MAX_CASCADES", 3)
    with pytest.raises(InputError) as caught:
        cascade_risk(hand_grid, ensemble="n1")
    assert caught.value.field == "ensemble" and "4 cascades" in str(caught.value)
