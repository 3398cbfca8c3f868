"""estimate_state on real pandapower grids: oracles are plain pandapower runpp (noise-free), the simulator's planted
truth (noisy sets, gross errors), scipy's chi2.ppf computed by hand, and re-running with the named missing meters."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

from gridsage.errors import InputError
from gridsage.tools.estimation import estimate_state, simulate_measurement_set, simulate_measurements
from gridsage.tools.workspace import current_workspace

from .oracle import readings_for, solved, value

warnings.filterwarnings("ignore")


def write(folder, readings: pd.DataFrame, mapping: pd.DataFrame):
    folder.mkdir(parents=True, exist_ok=True)
    readings.to_csv(folder / "readings.csv", index=False)
    mapping.to_csv(folder / "mapping.csv", index=False)
    return str(folder / "readings.csv"), str(folder / "mapping.csv")


@pytest.fixture(scope="module")
def truth14(case14_pglib):
    return solved(current_workspace().get(case14_pglib).net)


@pytest.fixture(scope="module")
def placement14(case14_pglib):
    """A meter placement of case14 at m/n 1.5 (the simulator's mapping; the readings come from the oracle)."""
    sim = simulate_measurement_set(current_workspace().get(case14_pglib).net, redundancy=1.5, seed=4)
    return sim.mapping


def test_noise_free_readings_give_the_pandapower_state(case14_pglib, truth14, placement14, tmp_path):
    readings = readings_for(truth14, placement14)
    result = estimate_state(case14_pglib, *write(tmp_path, readings, placement14), save_as="c14-se")
    assert result.status == "estimated" and result.chi_square.passed and result.chi_square.j < 1e-6
    est = pd.DataFrame([b.model_dump() for b in result.buses]).set_index("bus")
    assert np.abs(est.vm_pu - truth14.res_bus.vm_pu).max() < 1e-4
    assert np.abs(est.va_degree - truth14.res_bus.va_degree).max() < 1e-3
    # injections: element by element from pandapower's result tables (generation positive, shunts excluded)
    for bus in truth14.bus.index:
        assert est.p_mw[bus] == pytest.approx(value(truth14, "active_power", "bus", bus, ""), abs=1e-3)
        assert est.q_mvar[bus] == pytest.approx(value(truth14, "reactive_power", "bus", bus, ""), abs=1e-3)
    worst = max(truth14.res_line.loading_percent.max(), truth14.res_trafo.loading_percent.max())
    assert result.max_loading.loading_percent == pytest.approx(worst, abs=1e-2)
    assert result.counts.meters_used == len(placement14) and result.counts.redundancy == pytest.approx(
        len(placement14) / 27)
    # save_as: an AC power flow on the saved grid reproduces the estimated voltages
    saved = solved(current_workspace().get(result.saved_grid_id).net)
    assert np.abs(saved.res_bus.vm_pu - est.vm_pu).max() < 1e-3
    assert np.abs(saved.res_bus.va_degree - est.va_degree).max() < 1e-2


def test_noisy_set_is_within_meter_accuracy_and_passes_chi_square(case14_pglib, tmp_path):
    net = current_workspace().get(case14_pglib).net
    sim = simulate_measurement_set(net, redundancy=1.5, seed=11)
    result = estimate_state(case14_pglib, *write(tmp_path, sim.readings, sim.mapping))
    assert result.status == "estimated" and result.chi_square.passed and not result.suspects
    est = pd.Series({b.bus: b.vm_pu for b in result.buses})
    sigma_v = 0.005 / 3  # VT class 0.5 taken as 3 sigma (IEC 61869-3), per unit
    assert np.abs(est - sim.truth["vm_pu"]).max() < 3 * sigma_v
    # chi-square: dof = m - n with n = 2 x 14 - 1, threshold by hand
    assert result.chi_square.dof == len(sim.readings) - 27
    assert result.chi_square.threshold == pytest.approx(chi2.ppf(0.99, len(sim.readings) - 27))


def test_a_planted_gross_error_on_a_redundant_flow_meter_is_named_and_removed(case14_pglib, tmp_path):
    from gridsage.tools.estimation import assemble_meters, estimate_meters, read_mapping
    from gridsage.tools.telemetry.ingest import read_telemetry

    net = current_workspace().get(case14_pglib).net
    clean = simulate_measurement_set(net, redundancy=1.5, seed=21)
    meters = assemble_meters(read_telemetry(clean.readings).accepted, read_mapping(clean.mapping, net).accepted,
                             net).meters
    ranks = estimate_meters(net, meters, diagnostics=True).redundancy_of
    flows = {k: v for k, v in ranks.items() if not k.startswith("bus") and k.endswith("active_power") and not v[1]}
    target = max(flows, key=lambda k: flows[k][0])  # the best-protected flow meter
    device, sensor = target.split("/")
    sim = simulate_measurement_set(net, redundancy=1.5, seed=21,
                                   gross_errors=[{"device_id": device, "sensor_type": sensor, "size_sigma": 20}])
    planted = sim.truth["gross_errors"][0]
    result = estimate_state(case14_pglib, *write(tmp_path, sim.readings, sim.mapping))
    assert result.status == "bad_data"
    first = result.suspects[0]
    assert (first.device_id, first.sensor_type, first.removed) == (device, sensor, True)
    assert first.measured == pytest.approx(planted.reading)
    # the estimate that named it already sits closer to the truth than the reading
    assert abs(first.estimated - planted.true_value) < 0.5 * abs(planted.reading - planted.true_value)
    est = pd.Series({b.bus: b.vm_pu for b in result.buses})
    assert np.abs(est - sim.truth["vm_pu"]).max() < 3 * 0.005 / 3  # after removal: within meter accuracy
    assert first.normalised_residual > 3.0 and first.unit == "MW"
    assert result.chi_square.passed  # after removal


def three_bus():
    """A hand-built 3-bus 110 kV ring: ext_grid at bus 0, loads at 1 and 2."""
    import pandapower as pp

    net = pp.create_empty_network(sn_mva=100)
    b = [pp.create_bus(net, vn_kv=110) for _ in range(3)]
    pp.create_ext_grid(net, b[0], vm_pu=1.02)
    for f, t in ((0, 1), (1, 2), (0, 2)):
        pp.create_line_from_parameters(net, b[f], b[t], length_km=20, r_ohm_per_km=0.06, x_ohm_per_km=0.4,
                                       c_nf_per_km=9, max_i_ka=0.6)
    pp.create_load(net, b[1], p_mw=40, q_mvar=12)
    pp.create_load(net, b[2], p_mw=25, q_mvar=8)
    return net


def test_three_bus_chi_square_threshold_and_dof_by_hand(workspace, tmp_path):
    from gridsage.tools.workspace import Grid

    net = three_bus()
    grid_id = workspace.add(Grid(grid_id="three-bus", source="test", net=net)).grid_id
    truth = solved(net)
    rows = [("v0", "voltage", "bus", 0, ""), ("v1", "voltage", "bus", 1, ""), ("v2", "voltage", "bus", 2, ""),
            ("l0", "active_power", "line", 0, "from"), ("l0", "reactive_power", "line", 0, "from"),
            ("l1", "active_power", "line", 1, "from"), ("l1", "reactive_power", "line", 1, "from"),
            ("l2", "active_power", "line", 2, "from"), ("l2", "reactive_power", "line", 2, "from"),
            ("b1", "active_power", "bus", 1, ""), ("b1", "reactive_power", "bus", 1, "")]
    mapping = pd.DataFrame(rows, columns=["device_id", "sensor_type", "element_type", "element", "side"])
    mapping["std_dev"] = [0.004] * 3 + [0.5] * 8
    readings = readings_for(truth, mapping)
    # a known error on the bus-1 injection: J is then > 0 but the dof and threshold are fixed by m and n
    readings.loc[9, "value"] += 1.0
    result = estimate_state(grid_id, *write(tmp_path, readings, mapping), chi2_probability=0.05, max_bad_data=0)
    m, n = 11, 2 * 3 - 1
    assert result.counts.meters_used == m and result.counts.states == n
    assert result.chi_square.dof == m - n == 6
    assert result.chi_square.threshold == pytest.approx(12.591587243743977)  # chi2.ppf(0.95, 6), tabulated
    assert result.chi_square.threshold == pytest.approx(chi2.ppf(0.95, 6))
    assert 0 < result.chi_square.j < (1.0 / 0.5) ** 2  # the residual spreads the 2-sigma error over the meters


def test_unobservable_setup_is_refused_and_the_named_meters_restore_it(case14_pglib, truth14, placement14, tmp_path):
    # remove every meter at and around bus 7 (a leaf: only line 10, bus 6-bus 7, reaches it): at bus 7, on line 10,
    # and the injection meters of bus 6 (whose injection includes line 10's flow)
    bus = placement14.element_type == "bus"
    around = (bus & (placement14.element == 7)) | ((placement14.element_type == "line") & (placement14.element == 10)) | (
        bus & (placement14.element == 6) & placement14.sensor_type.isin(["active_power", "reactive_power"]))
    mapping = placement14[~around].reset_index(drop=True)
    assert around.any()
    result = estimate_state(case14_pglib, *write(tmp_path / "a", readings_for(truth14, mapping), mapping))
    assert result.status == "unobservable" and 7 in result.unobservable_buses
    assert result.missing_measurements and not result.buses and result.chi_square is None
    assert {m.sensor_type for m in result.missing_measurements} >= {"active_power", "reactive_power"}
    # oracle: add the named meters (readings from pandapower) and run again
    added = pd.DataFrame([{"device_id": f"new{i}", "sensor_type": m.sensor_type, "element_type": m.element_type,
                           "element": m.element, "side": m.side or ""} for i, m in enumerate(result.missing_measurements)])
    fixed = pd.concat([mapping, added], ignore_index=True)
    again = estimate_state(case14_pglib, *write(tmp_path / "b", readings_for(truth14, fixed), fixed))
    assert again.status == "estimated"
    assert again.buses[7].vm_pu == pytest.approx(truth14.res_bus.vm_pu[7], abs=1e-4)
    view = result.compact()
    assert view.status == "unobservable" and view.missing_measurements and "unobservable" in view.headline()


def test_bad_rows_are_rejected_by_name_and_the_rest_used(case14_pglib, truth14, placement14, tmp_path):
    mapping = placement14.copy()
    bad = pd.DataFrame([
        {"device_id": "x1", "sensor_type": "active_power", "element_type": "bus", "element": 99, "side": ""},
        {"device_id": "x2", "sensor_type": "active_power", "element_type": "line", "element": 3, "side": "hv"},
        {"device_id": "x3", "sensor_type": "voltage", "element_type": "line", "element": 3, "side": "from"},
    ])
    readings = readings_for(truth14, mapping)
    readings.loc[0, "value"] = float("nan")  # one NaN reading: rejected, that meter becomes missing
    result = estimate_state(case14_pglib, *write(tmp_path, readings, pd.concat([mapping, bad], ignore_index=True)))
    rejected = {(r.row, r.field) for r in result.mapping_rejected}
    n = len(mapping)
    assert rejected == {(n + 1, "element"), (n + 2, "side"), (n + 3, "element_type")}
    assert any("does not exist" in r.reason for r in result.mapping_rejected)
    assert [(r.row, r.field) for r in result.readings_rejected] == [(1, "value")]
    assert result.counts.missing_meters == 1 and result.counts.meters_used == n - 1
    assert result.status == "estimated"
    first = mapping.iloc[0]
    assert result.missing_meters[0].startswith(f"{first.device_id}/{first.sensor_type}")


def test_stale_and_unmapped_readings_are_counted(case14_pglib, truth14, placement14, tmp_path):
    readings = readings_for(truth14, placement14)
    readings.loc[3, "timestamp"] = "2026-01-15T11:00:00Z"  # an hour old: beyond max_age_s
    extra = pd.DataFrame([{"device_id": "ghost", "sensor_type": "voltage", "value": 1.0, "unit": "pu",
                           "timestamp": "2026-01-15T12:00:00Z", "quality": "good"}])
    result = estimate_state(case14_pglib, *write(tmp_path, pd.concat([readings, extra]), placement14),
                            at="2026-01-15T12:00:00Z")
    assert result.counts.stale_meters == 1 and result.counts.missing_meters == 1
    assert result.counts.readings_without_mapping == 1 and result.readings_without_mapping == ["ghost/voltage"]
    assert "s old" in result.missing_meters[0]


def test_files_outside_the_data_roots_are_refused(case14_pglib, placement14, tmp_path):
    readings_path, mapping_path = write(tmp_path, readings_for(solved(current_workspace().get(case14_pglib).net),
                                                               placement14), placement14)
    with pytest.raises(InputError) as info:
        estimate_state(case14_pglib, readings_path, "/etc/hostname")
    assert info.value.field == "mapping"
    with pytest.raises(InputError) as info:
        estimate_state(case14_pglib, "/etc/hostname", mapping_path)
    assert info.value.field == "path"
    with pytest.raises(InputError) as info:
        estimate_state(case14_pglib, readings_path, mapping_path, at="yesterday")
    assert info.value.field == "at"


def test_simulate_measurements_tool_writes_files_without_the_truth(case14_pglib, tmp_path):
    result = simulate_measurements(case14_pglib, str(tmp_path / "sim"), redundancy=1.3, random_gross_errors=1,
                                   missing=2, seed=5)
    readings = pd.read_csv(result.readings_path)
    mapping = pd.read_csv(result.mapping_path)
    assert list(readings.columns) == ["device_id", "sensor_type", "value", "unit", "timestamp", "quality"]
    assert list(mapping.columns) == ["device_id", "sensor_type", "element_type", "element", "side", "std_dev"]
    assert len(mapping) == result.meters and len(readings) == result.meters - 2 == result.readings
    assert len(result.gross_errors) == 1 and len(result.missing_meters) == 2
    assert result.states == 27 and result.meters == round(1.3 * 27)
    with pytest.raises(InputError) as info:
        simulate_measurements(case14_pglib, "/etc/somewhere")
    assert info.value.field == "out_dir"


def test_open_line_switches_and_their_auxiliary_buses_are_handled(workspace):
    """CIGRE MV has open line switches: pandapower adds auxiliary buses with virtual zero injections there."""
    from gridsage.tools.estimation import assemble_meters, estimate_meters, read_mapping
    from gridsage.tools.grid import load_grid
    from gridsage.tools.telemetry.ingest import read_telemetry

    net = workspace.get(load_grid("cigre_mv").grid_id).net
    assert (~net.switch.closed & (net.switch.et == "l")).sum() == 3
    sim = simulate_measurement_set(net, redundancy=1.5, seed=2)
    meters = assemble_meters(read_telemetry(sim.readings).accepted, read_mapping(sim.mapping, net).accepted, net).meters
    out = estimate_meters(net, meters)
    assert out.status == "estimated"
    assert out.states == 2 * len(net.bus) - 1 and out.meters_used == len(meters)  # virtual rows not counted
    assert np.abs(out.buses.vm_pu - sim.truth["vm_pu"].reindex(out.buses.index)).max() < 3 * 0.005 / 3


def test_lnr_detection_threshold_is_bonferroni_at_the_chi_square_probability():
    from scipy.stats import norm

    from gridsage.tools.estimation import lnr_detection_threshold

    assert lnr_detection_threshold(0.01, 282) == pytest.approx(norm.ppf(1 - 0.01 / (2 * 282)))
    assert 4.1 < lnr_detection_threshold(0.01, 282) < 4.2
    assert lnr_detection_threshold(0.01, 1) == 3.0  # never below the identification threshold (2.58 < 3)


def test_ieee118_missing_reactive_meters_are_named_and_restore_observability(ieee118, workspace):
    from gridsage.tools.estimation import assemble_meters, estimate_meters, read_mapping
    from gridsage.tools.telemetry.ingest import read_telemetry

    net = workspace.get(ieee118).net
    truth = solved(net)
    mapping = simulate_measurement_set(net, redundancy=1.2, seed=0).mapping
    drop = (mapping.sensor_type == "reactive_power") & (mapping.index % 4 == 1)  # a quarter of the Q readings lost
    kept = mapping[~drop].reset_index(drop=True)

    def run(frame):
        meters = assemble_meters(read_telemetry(readings_for(truth, frame)).accepted,
                                 read_mapping(frame, net).accepted, net).meters
        return estimate_meters(net, meters)

    refused = run(kept)
    assert refused.status == "unobservable" and refused.observability.q_v_rank_deficiency > 0
    missing = refused.observability.missing
    assert 0 < len(missing) <= drop.sum()  # never more than were lost
    added = pd.DataFrame([{"device_id": f"new{i}", "sensor_type": m.sensor_type, "element_type": m.element_type,
                           "element": m.element, "side": m.side or ""} for i, m in enumerate(missing)])
    again = run(pd.concat([kept, added], ignore_index=True))
    assert again.status == "estimated"
    assert np.abs(again.buses.vm_pu - truth.res_bus.vm_pu).max() < 1e-4
