"""Mapping validation, meter assembly and the measurement simulator; oracles: hand-written rows and the planted truth
(the simulator's noise-free values are checked against plain pandapower results)."""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import pandas as pd
import pytest

from gridsage.errors import InputError
from gridsage.tools.estimation import (assemble_meters, check_observability, default_std_dev, read_mapping,
                                       simulate_measurement_set)
from gridsage.tools.telemetry.ingest import read_telemetry
from gridsage.tools.workspace import current_workspace

from .oracle import solved, value

warnings.filterwarnings("ignore")


@pytest.fixture(scope="module")
def net14(case14_pglib):
    return current_workspace().get(case14_pglib).net


def test_mapping_rows_are_checked_one_by_one(net14, tmp_path):
    text = ("device_id,sensor_type,element_type,element,side,std_dev\n"
            "bus3,voltage,bus,3,,0.002\n"          # 1 ok
            "bus99,voltage,bus,99,,\n"              # 2 unknown bus
            "line2-x,active_power,line,2,hv,\n"     # 3 bad side for a line
            "trafo0-hv,active_power,trafo,0,hv,\n"  # 4 ok
            ",voltage,bus,1,,\n"                    # 5 no device id
            "bus4,frequency,bus,4,,\n"              # 6 not an estimator sensor
            "bus4,voltage,bus,4.5,,\n"              # 7 not an integer index
            "bus5,voltage,bus,5,,-1\n"              # 8 negative std_dev
            "bus3,voltage,bus,3,,\n"                # 9 repeated device/sensor
            "other,voltage,bus,3,,\n"               # 10 second meter of the same quantity
            "line2-from,current,line,2,from,\n"     # 11 ok
            "bus6,current,bus,6,,\n")               # 12 current at a bus
    path = tmp_path / "mapping.csv"
    path.write_text(text)
    result = read_mapping(str(path), net14)
    assert result.rows_read == 12
    assert list(result.accepted.index) == [1, 4, 11]
    assert result.accepted.loc[1, "std_dev"] == 0.002 and math.isnan(result.accepted.loc[4, "std_dev"])
    assert [(r.row, r.field) for r in result.rejected] == [
        (2, "element"), (3, "side"), (5, "device_id"), (6, "sensor_type"), (7, "element"), (8, "std_dev"),
        (9, "device_id"), (10, "element"), (12, "element_type")]
    assert "bus 99 does not exist" in result.rejected[0].reason


def test_mapping_outside_the_data_roots_or_without_columns_is_refused(net14, tmp_path):
    with pytest.raises(InputError) as info:
        read_mapping("/etc/hostname", net14)
    assert info.value.field == "mapping"
    path = tmp_path / "m.csv"
    path.write_text("device_id,sensor_type\nx,voltage\n")
    with pytest.raises(InputError) as info:
        read_mapping(str(path), net14)
    assert "element_type" in info.value.message


def test_voltage_in_volts_and_angles_in_radians_are_converted(net14):
    mapping = read_mapping(pd.DataFrame([
        {"device_id": "m1", "sensor_type": "voltage", "element_type": "bus", "element": 2, "side": ""},
        {"device_id": "p1", "sensor_type": "voltage_angle", "element_type": "bus", "element": 2, "side": ""},
        {"device_id": "f1", "sensor_type": "active_power", "element_type": "line", "element": 0, "side": "from",
         "std_dev": 0.7}]), net14).accepted
    readings = read_telemetry(pd.DataFrame([
        {"device_id": "m1", "sensor_type": "voltage", "value": 0.98, "unit": "kV", "timestamp": "2026-01-15T11:59:00Z"},
        {"device_id": "m1", "sensor_type": "voltage", "value": 990.0, "unit": "V", "timestamp": "2026-01-15T12:00:00Z"},
        {"device_id": "p1", "sensor_type": "voltage_angle", "value": -0.2, "unit": "rad",
         "timestamp": "2026-01-15T12:00:00Z"},
        {"device_id": "f1", "sensor_type": "active_power", "value": 40, "unit": "MW", "timestamp": "2026-01-15T11:58:00Z"},
        {"device_id": "f1", "sensor_type": "active_power", "value": 50, "unit": "MW", "timestamp": "2026-01-15T12:00:00Z",
         "quality": "bad"}]))
    assert not readings.rejected
    meters = assemble_meters(readings.accepted, mapping, net14)
    m = meters.meters.set_index("device_id")
    vn_kv = float(net14.bus.vn_kv[2])  # 1 kV in this case file
    assert m.loc["m1", "value"] == pytest.approx(990.0 / (vn_kv * 1e3))  # latest reading, V -> pu
    assert m.loc["p1", "value"] == pytest.approx(-0.2 * 180 / math.pi)
    assert m.loc["f1", "value"] == 40 and m.loc["f1", "std_dev"] == 0.7  # 'bad' quality skipped
    assert m.loc["m1", "std_dev"] == pytest.approx(0.005 / 3 * m.loc["m1", "value"])  # class 0.5 as 3 sigma
    old = assemble_meters(readings.accepted, mapping, net14, at="2026-01-15T12:10:00Z", max_age_s=300)
    assert old.missing_count == 3 and old.stale_count == 3 and len(old.meters) == 0


def test_out_of_range_angle_is_rejected_by_telemetry():
    result = read_telemetry(pd.DataFrame([
        {"device_id": "p", "sensor_type": "voltage_angle", "value": 400, "unit": "deg", "timestamp": "2026-01-15T12:00:00Z"}]))
    assert [(r.row, r.field) for r in result.rejected] == [(1, "value")]


def test_simulator_is_seeded_and_plants_what_it_says(net14, tmp_path):
    a = simulate_measurement_set(net14, redundancy=1.4, seed=7, random_gross_errors=1, missing=3,
                                 gross_errors=[{"device_id": "bus0", "sensor_type": "voltage", "size_sigma": -12}])
    b = simulate_measurement_set(net14, redundancy=1.4, seed=7, random_gross_errors=1, missing=3,
                                 gross_errors=[{"device_id": "bus0", "sensor_type": "voltage", "size_sigma": -12}])
    pd.testing.assert_frame_equal(a.readings, b.readings)
    pd.testing.assert_frame_equal(a.mapping, b.mapping)
    assert len(a.mapping) == round(1.4 * 27) and len(a.readings) == len(a.mapping) - 3
    truth = solved(net14)
    # noise-free values straight from pandapower (element sums for injections)
    for m in a.mapping.to_dict("records"):
        expected = value(truth, m["sensor_type"], m["element_type"], m["element"], m["side"])
        assert a.truth["values"][(m["device_id"], m["sensor_type"])] == pytest.approx(expected, abs=1e-6)
    readings = a.readings.set_index(["device_id", "sensor_type"])
    planted = {(g.device_id, g.sensor_type): g for g in a.truth["gross_errors"]}
    assert len(planted) == 2 and planted[("bus0", "voltage")].size_sigma == -12
    for key, g in planted.items():
        error = readings.loc[key, "value"] - g.true_value
        assert abs(error - g.size_sigma * g.std_dev) < 5 * g.std_dev  # the planted error plus noise
    for key in a.truth["missing"]:
        assert key not in readings.index and key not in planted
    clean = [k for k in readings.index if k not in planted]
    z = np.array([(readings.loc[k, "value"] - a.truth["values"][k]) /
                  a.mapping.set_index(["device_id", "sensor_type"]).loc[k, "std_dev"] for k in clean])
    assert np.abs(z).max() < 5 and abs(z.std() - 1) < 0.35  # Gaussian noise of the recorded sigma
    readings_path, mapping_path = a.write(tmp_path)
    assert "true" not in readings_path.read_text() and "size_sigma" not in mapping_path.read_text()
    other = simulate_measurement_set(net14, redundancy=1.4, seed=8)
    assert not other.mapping.equals(a.mapping)


def test_simulated_placement_is_observable_and_ids_are_readable(net14):
    for seed in range(5):
        sim = simulate_measurement_set(net14, redundancy=1.2, seed=seed)
        assert check_observability(net14, sim.mapping.to_dict("records")).observable
        ids = set(sim.mapping.device_id)
        assert all(i.startswith(("bus", "line", "trafo")) for i in ids)
        assert all(i.rsplit("-", 1)[-1] in ("from", "to", "hv", "lv") for i in ids if not i.startswith("bus"))


def test_default_std_dev_follows_the_meter_classes():
    assert default_std_dev("voltage", 1.0) == pytest.approx(0.005 / 3)
    assert default_std_dev("voltage_angle", 0.0) == pytest.approx(math.degrees(0.01) / 3)  # TVE 1 % (C37.118.1)
    assert default_std_dev("active_power", -60.0, 100.0) == pytest.approx(0.01 / 3 * 60 + 0.2)
    assert default_std_dev("current", 500.0) == pytest.approx(0.01 / 3 * 500 + 1.0)


def test_redundancy_below_one_is_refused(net14):
    with pytest.raises(InputError) as info:
        simulate_measurement_set(net14, redundancy=0.8)
    assert info.value.field == "redundancy"
    with pytest.raises(InputError) as info:
        simulate_measurement_set(net14, gross_errors=[{"device_id": "nope", "sensor_type": "voltage", "size_sigma": 9}])
    assert info.value.field == "gross_errors[0].device_id"
    with pytest.raises(InputError) as info:  # a line has no voltage meter in this model
        simulate_measurement_set(net14, gross_errors=[{"device_id": "line3-from", "sensor_type": "voltage", "size_sigma": 9}])
    assert info.value.field == "gross_errors[0].sensor_type"


def test_a_meter_named_for_a_gross_error_is_installed_and_carries_it(net14):
    import pandapower as pp

    ms = simulate_measurement_set(net14, redundancy=1.0, seed=2, gross_errors=[
        {"device_id": "line3-to", "sensor_type": "reactive_power", "size_sigma": -12}])
    row = ms.mapping[(ms.mapping.device_id == "line3-to") & (ms.mapping.sensor_type == "reactive_power")]
    assert len(row) == 1 and row.iloc[0].element == 3 and row.iloc[0].side == "to"
    truth = copy.deepcopy(net14)
    pp.runpp(truth, numba=False, lightsim2grid=False)
    reading = ms.readings[(ms.readings.device_id == "line3-to") & (ms.readings.sensor_type == "reactive_power")].value
    sigma = float(row.iloc[0].std_dev)
    # the reading is the pandapower flow into line 3 at its to side, moved by the planted -12 sigma (plus noise)
    assert abs(float(reading.iloc[0]) - (float(truth.res_line.q_to_mvar[3]) - 12 * sigma)) < 4 * sigma
