"""OT log simulator: deterministic per seed, every requested ATT&CK for ICS technique present with lines of the
expected shape (counted here from the records), normal traffic free of attack labels and following its routine,
files in the published formats (protocol CSV header, Zeek TSV headers, RFC 5424 grammar), written only under the
given folder, and the technique table against the corpus entries."""

from __future__ import annotations

import csv
import ipaddress
import re
from pathlib import Path

import pandas as pd
import pytest

from gridsage.errors import InputError
from gridsage.tools.cyber._techniques import ATTACK_ICS_ATTRIBUTION, ATTACK_ICS_VERSION, TECHNIQUES, technique
from gridsage.tools.cyber.simulate import OtLogSimulation, simulate_ot_logs, write_simulation

REPO = Path(__file__).resolve().parents[3]
DEFAULT = {"T0846", "T0855", "T0836", "T0843", "T0814", "T0815", "T0859", "T0848"}
HMI, EWS = "10.10.1.10", "10.10.1.20"
OT_NET = ipaddress.ip_network("10.10.2.0/24")
ICS_PORTS = {502, 20000, 2404, 102}
FILES = {"modbus.csv", "dnp3.csv", "iec104.csv", "mms.csv", "windows_events.csv", "syslog.log", "conn.log",
         "labels.csv"}

# RFC 5424 clause 6 ABNF, transcribed:
#   SYSLOG-MSG = HEADER SP STRUCTURED-DATA [SP MSG]
#   HEADER = PRI VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID
#   PRI = "<" PRIVAL ">"; PRIVAL = 1*3DIGIT (0..191); VERSION = NONZERO-DIGIT 0*2DIGIT
#   HOSTNAME = NILVALUE / 1*255PRINTUSASCII; APP-NAME = NILVALUE / 1*48PRINTUSASCII
#   PROCID = NILVALUE / 1*128PRINTUSASCII; MSGID = NILVALUE / 1*32PRINTUSASCII; PRINTUSASCII = %d33-126
#   TIMESTAMP = NILVALUE / FULL-DATE "T" FULL-TIME; FULL-DATE = 4DIGIT "-" 2DIGIT "-" 2DIGIT
#   FULL-TIME = PARTIAL-TIME TIME-OFFSET; PARTIAL-TIME = 2DIGIT ":" 2DIGIT ":" 2DIGIT ["." 1*6DIGIT]
#   TIME-OFFSET = "Z" / TIME-NUMOFFSET; TIME-NUMOFFSET = ("+" / "-") 2DIGIT ":" 2DIGIT
#   STRUCTURED-DATA = NILVALUE / 1*SD-ELEMENT; SD-ELEMENT = "[" SD-ID *(SP SD-PARAM) "]"
PRINTUSASCII = r"[\x21-\x7e]"
RFC5424 = re.compile(
    r"^<(?P<prival>\d{1,3})>[1-9]\d{0,2} "
    r"(?:-|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})) "
    rf"(?:-|{PRINTUSASCII}{{1,255}}) (?:-|{PRINTUSASCII}{{1,48}}) (?:-|{PRINTUSASCII}{{1,128}}) "
    rf"(?:-|{PRINTUSASCII}{{1,32}}) "
    r"(?:-|(?:\[[^\s=\]\"]{1,32}(?: [^\s=\]\"]{1,32}=\"(?:[^\"\\\]]|\\.)*\")*\])+)"
    r"(?: (?P<msg>.*))?$")
# Zeek's conn.log default fields and types (base/protocols/conn/main.zeek, Conn::Info)
ZEEK_FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
               "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
               "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents"]
ZEEK_TYPES = ["time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count",
              "string", "bool", "bool", "count", "string", "count", "count", "count", "count", "set[string]"]


@pytest.fixture(scope="module")
def sim() -> OtLogSimulation:
    return simulate_ot_logs(seed=11, hours=8, start="2026-06-01T04:00:00+00:00")  # covers 6 h of the day shift


@pytest.fixture(scope="module")
def written(sim, tmp_path_factory):
    root = tmp_path_factory.mktemp("sim")
    return root, write_simulation(sim, root / "out")


def lines_of(sim, tid):
    return sim.records[sim.records["technique_id"] == tid]


def window(sim, tid):
    row = sim.chains[sim.chains["technique_id"] == tid].iloc[0]
    return row["start"], row["end"]


# ------------------------------------------------------------------------------------------------ determinism, labels
def test_same_seed_same_logs_and_other_seeds_differ():
    a = simulate_ot_logs(seed=3, hours=2, attacks=["T0846", "T0859"])
    b = simulate_ot_logs(seed=3, hours=2, attacks=["T0846", "T0859"])
    c = simulate_ot_logs(seed=4, hours=2, attacks=["T0846", "T0859"])
    pd.testing.assert_frame_equal(a.records, b.records)
    pd.testing.assert_frame_equal(a.chains, b.chains)
    assert not a.chains["start"].equals(c.chains["start"])
    assert len(a.records) != len(c.records) or not a.records["time_utc"].equals(c.records["time_utc"])


def test_every_requested_technique_has_its_chain_and_labels(sim):
    labels = set(sim.records["technique_id"])
    assert labels == DEFAULT | {"normal"}
    assert set(sim.chains["technique_id"]) == DEFAULT and sim.chains["chain_id"].is_unique
    for chain in sim.chains.itertuples():
        mine = sim.records[sim.records["chain_id"] == chain.chain_id]
        assert len(mine) == chain.lines > 0
        assert (mine["technique_id"] == chain.technique_id).all()
        assert mine["time_utc"].min() >= chain.start and mine["time_utc"].max() <= chain.end
        assert chain.technique == TECHNIQUES[chain.technique_id].name
    normal = sim.records[sim.records["technique_id"] == "normal"]
    assert (normal["chain_id"] == "").all() and (sim.records.loc[sim.records["technique_id"] != "normal",
                                                                  "chain_id"] != "").all()
    # chains never overlap in time
    spans = sim.chains.sort_values("start")
    assert (spans["start"].iloc[1:].to_numpy() > spans["end"].iloc[:-1].to_numpy()).all()


def test_a_subset_of_attacks_gives_only_those_labels_and_none_gives_normal_traffic_only():
    some = simulate_ot_logs(seed=2, hours=1, attacks=["T0855", "T0848"])
    assert set(some.records["technique_id"]) == {"normal", "T0855", "T0848"}
    quiet = simulate_ot_logs(seed=2, hours=1, attacks=[])
    assert set(quiet.records["technique_id"]) == {"normal"} and quiet.chains.empty


def test_the_records_follow_the_contract(sim):
    r = sim.records
    assert list(r.columns[:16]) == ["time_utc", "source", "destination", "source_port", "destination_port",
                                    "protocol", "kind", "function", "object", "value", "user", "status", "format",
                                    "file", "line", "message"]
    assert str(r["time_utc"].dt.tz) == "UTC" and r["time_utc"].is_monotonic_increasing
    assert set(r["protocol"]) <= {"modbus", "dnp3", "iec104", "mms", "tcp", "udp", "syslog", "windows", "other"}
    assert set(r["kind"]) <= {"connection", "read", "write", "command", "select", "operate", "program_download",
                              "firmware", "restart", "login_success", "login_failure", "alert", "config_change",
                              "link_down", "link_up", "other"}
    assert str(r["source_port"].dtype) == "Int64" and str(r["line"].dtype) == "Int64"
    assert r["message"].dropna().str.len().max() <= 200
    assert not r.duplicated(["file", "line"]).any()


# --------------------------------------------------------------------------------------------- shape of each technique
def test_t0846_one_new_host_sweeps_the_ot_subnet_on_the_ics_ports(sim):
    scan = lines_of(sim, "T0846")
    conns = scan[scan["kind"] == "connection"]
    assert conns["source"].nunique() == 1
    scanner = conns["source"].iloc[0]
    assert scanner not in set(sim.records.loc[sim.records["technique_id"] == "normal", ["source", "destination"]]
                              .stack())
    targets = {d for d in conns["destination"] if ipaddress.ip_address(d) in OT_NET}
    assert len(targets) >= 250  # 10.10.2.1 .. 254
    assert set(conns["destination_port"]) == ICS_PORTS
    assert {"S0", "REJ"} <= set(conns["function"])  # Zeek conn_state: no answer, rejected
    start, end = window(sim, "T0846")
    sweep = conns["time_utc"].max() - conns["time_utc"].min()
    assert sweep <= pd.Timedelta(minutes=3) and end - start <= pd.Timedelta(hours=1)
    # then device identification, Modbus FC 43 to every Modbus outstation it found
    modbus_rtus = set(sim.records.loc[(sim.records["protocol"] == "modbus") & (sim.records["source"] == HMI),
                                      "destination"])
    fc43 = scan[(scan["protocol"] == "modbus") & (scan["function"] == "43")]
    assert set(fc43["destination"]) == modbus_rtus and (fc43["source"] == scanner).all()


def test_t0855_commands_come_from_a_host_that_is_no_master(sim):
    cmd = lines_of(sim, "T0855")
    ops = cmd[cmd["kind"].isin(["operate", "command", "write"]) & (cmd["protocol"] != "tcp")]
    assert len(ops) >= 6 and ops["destination"].nunique() >= 2
    assert HMI not in set(ops["source"])
    assert not (cmd["kind"] == "select").any()  # no select before these operates
    r = sim.records
    breaker = (((r["protocol"] == "dnp3") & r["object"].fillna("").str.startswith("g12v1"))  # CROB
               | ((r["protocol"] == "iec104") & (r["function"] == "C_SC_NA_1"))
               | ((r["protocol"] == "mms") & r["object"].fillna("").str.contains("CSWI"))
               | ((r["protocol"] == "modbus") & (r["function"] == "5")))
    normal_ops = r[(r["technique_id"] == "normal") & breaker]
    assert len(normal_ops) >= 4 and set(normal_ops["source"]) == {HMI}
    assert breaker[cmd.index].sum() >= 6
    hours = normal_ops["time_utc"].dt.hour + normal_ops["time_utc"].dt.minute / 60
    assert hours.between(6, 18).all()  # routine commands only in the day shift


def test_t0836_writes_protection_settings_or_set_points_outside_the_routine_band(sim):
    r = sim.records
    bad = lines_of(sim, "T0836")
    writes = bad[~bad["kind"].isin(["connection"])]
    assert len(writes) >= 4 and (writes["source"] == EWS).all()
    routine = r[(r["technique_id"] == "normal") & (r["source"] == EWS) & (r["protocol"].isin(["modbus", "dnp3",
                                                                                              "iec104", "mms"]))]
    assert len(routine)  # the oracle: what the engineering workstation writes in routine
    for row in writes.itertuples():
        same = routine[(routine["protocol"] == row.protocol) & (routine["object"] == row.object)]
        if same.empty:
            continue  # an object never written in routine (protection setting)
        top = pd.to_numeric(same["value"]).max()
        assert float(row.value) > 1.2 * top
    # no engineering logon in the 30 min before the writes
    start, _ = window(sim, "T0836")
    logons = r[(r["function"] == "4624") & (r["destination"] == "ENG-WS01")
               & r["time_utc"].between(start - pd.Timedelta(minutes=30), start)]
    assert logons.empty


def test_t0843_program_download_to_one_controller(sim):
    dl = lines_of(sim, "T0843")
    proto = dl[dl["protocol"].isin(["modbus", "dnp3", "iec104", "mms"])]
    assert proto["destination"].nunique() == 1 and (proto["source"] == EWS).all()
    downloads = proto[proto["function"].isin(["90", "WRITE", "F_SG_NA_1", "fileRead"])]
    assert len(downloads) >= 20
    assert (dl["protocol"] == "syslog").sum() == 2
    normal = sim.records[sim.records["technique_id"] == "normal"]
    assert not (normal["kind"] == "program_download").any()


def test_t0814_flood_then_the_outstation_stops_answering(sim):
    dos = lines_of(sim, "T0814")
    flood = dos[(dos["kind"] == "connection") & (dos["function"] == "S0")]
    assert len(flood) >= 600 and flood["source"].nunique() == 1 and flood["destination"].nunique() == 1
    assert flood["time_utc"].max() - flood["time_utc"].min() <= pd.Timedelta(seconds=90)
    victim = flood["destination"].iloc[0]
    silent = dos[dos["status"] == "timeout"]
    assert len(silent) and set(silent["destination"]) == {victim} and (silent["source"] == HMI).all()
    assert silent["time_utc"].max() - silent["time_utc"].min() >= pd.Timedelta(minutes=3.5)
    assert ((dos["protocol"] == "syslog") & (dos["kind"] == "restart")).sum() == 1


def test_t0815_several_outstations_go_silent_with_their_links_up(sim):
    dov = lines_of(sim, "T0815")
    silent = dov[dov["status"] == "timeout"]
    assert silent["destination"].nunique() >= 2 and (silent["source"] == HMI).all()
    assert not dov["kind"].isin(["link_down", "connection"]).any()
    for rtu, part in silent.groupby("destination"):
        assert part["time_utc"].max() - part["time_utc"].min() >= pd.Timedelta(minutes=5)
    # normal timeouts only while a link is down (a flap)
    r = sim.records
    normal_timeouts = r[(r["technique_id"] == "normal") & (r["status"] == "timeout")]
    downs = r[(r["kind"] == "link_down") & (r["technique_id"] == "normal")]
    ups = r[(r["kind"] == "link_up") & (r["technique_id"] == "normal")]
    for row in normal_timeouts.itertuples():
        before = downs[(downs["source"] == row.destination) & (downs["time_utc"] <= row.time_utc)]
        after = ups[(ups["source"] == row.destination) & (ups["time_utc"] >= row.time_utc)]
        assert len(before) and len(after)


def test_t0859_burst_of_failed_logons_then_success_from_an_unusual_address(sim):
    va = lines_of(sim, "T0859")
    win = va[va["protocol"] == "windows"]
    fails = win[win["function"] == "4625"]
    ok = win[win["function"] == "4624"]
    assert len(fails) >= 15 and len(ok) == 1
    assert fails["source"].nunique() == 1 and ok["source"].iloc[0] == fails["source"].iloc[0]
    assert fails["time_utc"].max() - fails["time_utc"].min() <= pd.Timedelta(minutes=4)
    assert ok["time_utc"].iloc[0] > fails["time_utc"].max()
    assert fails["user"].nunique() == 1 and (win["destination"] == "ENG-WS01").all()
    normal = sim.records[sim.records["technique_id"] == "normal"]
    assert fails["source"].iloc[0] not in set(normal["source"])


def test_t0848_a_never_seen_host_acts_as_a_master(sim):
    rogue = lines_of(sim, "T0848")
    normal = sim.records[sim.records["technique_id"] == "normal"]
    seen = set(normal["source"]) | set(normal["destination"].dropna())
    hosts = (set(rogue["source"]) | set(rogue["destination"])) - seen
    assert len(hosts) == 1
    new = hosts.pop()
    reads = rogue[rogue["kind"].isin(["read", "other"]) & (rogue["protocol"] != "tcp")]
    assert len(reads) >= 150 and ((reads["source"] == new) | (reads["destination"] == new)).all()


def test_normal_engineering_writes_follow_a_logon_and_stay_in_band(sim):
    r = sim.records
    writes = r[(r["technique_id"] == "normal") & (r["source"] == EWS)
               & r["protocol"].isin(["modbus", "dnp3", "iec104", "mms"])]
    logons = r[(r["function"] == "4624") & (r["destination"] == "ENG-WS01") & (r["technique_id"] == "normal")]
    assert len(writes) and len(logons)
    for row in writes.itertuples():
        assert ((logons["time_utc"] <= row.time_utc) & (logons["time_utc"] >= row.time_utc
                                                        - pd.Timedelta(minutes=30))).any()
    for _, same in writes.groupby(["protocol", "object"]):
        values = pd.to_numeric(same["value"])
        assert values.max() / values.min() <= 1.05  # one routine band, +-2 % around its set-point


def test_sizes_scale_with_hours_and_match_the_polling_count():
    small = simulate_ot_logs(seed=1, hours=2, attacks=[])
    large = simulate_ot_logs(seed=1, hours=4, attacks=[])
    for s, hours in ((small, 2), (large, 4)):
        polls = hours * 3600 / 2.0 * 6  # hand count: one record per poll of each of 6 outstations
        n = (s.records["protocol"].isin(["modbus", "dnp3", "iec104", "mms"])).sum()
        assert polls <= n <= polls * 1.01
    assert 1.9 < len(large.records) / len(small.records) < 2.1


# ------------------------------------------------------------------------------------------------------------- files
def test_files_are_written_only_under_the_folder(sim, written):
    root, paths = written
    assert {p.name for p in paths.values()} == FILES
    assert all(p.parent == root / "out" for p in paths.values())
    assert {str(p.relative_to(root)) for p in root.rglob("*")} == {"out"} | {f"out/{f}" for f in FILES}


def test_a_link_in_the_folder_is_refused(sim, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "elsewhere.csv"
    victim.write_text("keep\n")
    (out / "labels.csv").symlink_to(victim)
    with pytest.raises(InputError) as err:
        write_simulation(sim, out)
    assert err.value.field == "folder" and victim.read_text() == "keep\n"
    assert not (out / "modbus.csv").exists()


def test_protocol_csv_header_rows_and_times(sim, written):
    _, paths = written
    for protocol in ("modbus", "dnp3", "iec104", "mms"):
        path = paths[protocol]
        header = path.read_text().split("\n", 1)[0].split(",")
        assert header[:7] == ["time", "source", "destination", "protocol", "function", "object", "value"]
        assert set(header[7:]) <= {"source_port", "destination_port", "user", "status", "select_execute"}
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        mine = sim.records[sim.records["file"] == path.name].sort_values("line")
        assert len(frame) == len(mine) and (frame["protocol"] == protocol).all()
        times = pd.to_datetime(frame["time"], format="ISO8601")
        assert all(t.endswith("+00:00") for t in frame["time"].head(50))
        assert (times.to_numpy() == mine["time_utc"].to_numpy()).all()
        assert (frame["function"].to_numpy() == mine["function"].to_numpy()).all()


def test_windows_csv_has_the_export_columns(sim, written):
    _, paths = written
    with open(paths["windows"], newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["TimeCreated", "Id", "MachineName", "TargetUserName", "IpAddress", "LogonType", "Message"]
    assert len(rows) - 1 == (sim.records["file"] == "windows_events.csv").sum()
    assert {r[1] for r in rows[1:]} <= {"4624", "4625", "4688"}


def test_syslog_lines_follow_the_rfc_5424_grammar(sim, written):
    _, paths = written
    lines = paths["syslog"].read_text().splitlines()
    assert len(lines) == (sim.records["file"] == "syslog.log").sum() > 0
    for line in lines:
        m = RFC5424.match(line)
        assert m, line
        assert 0 <= int(m["prival"]) <= 191


def test_zeek_conn_log_headers_and_rows(sim, written):
    _, paths = written
    lines = paths["zeek_conn"].read_text().split("\n")
    assert lines[0] == "#separator \\x09"
    header = dict(line[1:].split("\t", 1) for line in lines[1:8])
    assert header["set_separator"] == "," and header["empty_field"] == "(empty)" and header["unset_field"] == "-"
    assert header["path"] == "conn"
    assert header["fields"].split("\t") == ZEEK_FIELDS and header["types"].split("\t") == ZEEK_TYPES
    data = [line for line in lines if line and not line.startswith("#")]
    assert lines[-2].startswith("#close\t") and lines[-1] == ""
    assert len(data) == (sim.records["file"] == "conn.log").sum()
    for line in data:
        values = line.split("\t")
        assert len(values) == len(ZEEK_FIELDS)
        assert values[6] in ("tcp", "udp") and re.fullmatch(r"\d+\.\d{6}", values[0])
        ipaddress.ip_address(values[2]), ipaddress.ip_address(values[4])


def test_labels_point_at_the_lines_they_label(sim, written):
    _, paths = written
    labels = pd.read_csv(paths["labels"], dtype={"chain_id": str}, keep_default_na=False)
    assert list(labels.columns) == ["file", "line", "technique_id", "chain_id"]
    assert len(labels) == len(sim.records)
    assert set(labels["technique_id"]) == DEFAULT | {"normal"}
    text = {name: (paths["zeek_conn"].parent / name).read_text().split("\n") for name in FILES - {"labels.csv"}}
    # every T0846 conn.log line is the scanner's; every T0859 Windows line is a logon from the brute-force address
    scan = labels[(labels["file"] == "conn.log") & (labels["technique_id"] == "T0846")]
    assert len(scan) >= 1000
    scanner = {text["conn.log"][n - 1].split("\t")[2] for n in scan["line"]}
    assert len(scanner) == 1
    brute = labels[(labels["file"] == "windows_events.csv") & (labels["technique_id"] == "T0859")]
    rows = [next(csv.reader([text["windows_events.csv"][n - 1]])) for n in brute["line"]]
    assert {r[1] for r in rows} == {"4624", "4625"} and len({r[4] for r in rows}) == 1
    # normal lines of conn.log never name the scanner
    normal = labels[(labels["file"] == "conn.log") & (labels["technique_id"] == "normal")]
    assert not any(text["conn.log"][n - 1].split("\t")[2] in scanner for n in normal["line"])


def test_log_text_that_tries_to_instruct_a_reader_is_plain_normal_data(sim):
    r = sim.records
    hostile = r[r["message"].fillna("").str.contains("ignore all previous instructions", case=False)]
    assert len(hostile) == 1 and (hostile["technique_id"] == "normal").all()
    clean = simulate_ot_logs(seed=11, hours=1, attacks=[], hostile_text=False)
    assert not clean.records["message"].fillna("").str.contains("instructions").any()


def test_the_files_ingest_with_no_rejected_rows(sim, written):
    ingest = pytest.importorskip("gridsage.tools.cyber.ingest")
    _, paths = written
    for key, path in paths.items():
        if key == "labels":
            continue
        batch = ingest.read_logs(path.read_text())
        mine = sim.records[sim.records["file"] == path.name].sort_values("line", ignore_index=True)
        assert batch.counts.rejected == 0 and batch.counts.accepted == len(mine), key
        got = batch.records.sort_values("line", ignore_index=True)
        assert (got["line"].to_numpy() == mine["line"].to_numpy()).all()
        assert (got["time_utc"].to_numpy() == mine["time_utc"].to_numpy()).all()
        for column in ("source", "destination", "protocol", "kind", "function", "status"):
            a = got[column].astype(object).where(got[column].notna(), None).tolist()
            b = mine[column].astype(object).where(mine[column].notna(), None).tolist()
            assert a == b, (key, column)


# ------------------------------------------------------------------------------------------------------ bad arguments
@pytest.mark.parametrize("kwargs, field", [
    ({"attacks": ["T0801"]}, "attacks[0]"),
    ({"attacks": ["T9999"]}, "attacks[0]"),
    ({"attacks": "T0846"}, "attacks"),
    ({"hours": 0.5}, "hours"),
    ({"hours": -1}, "hours"),
    ({"rtus": 0}, "rtus"),
    ({"poll_s": 0}, "poll_s"),
    ({"seed": -1}, "seed"),
    ({"start": "not a time"}, "start"),
])
def test_bad_arguments_name_their_field(kwargs, field):
    with pytest.raises(InputError) as err:
        simulate_ot_logs(**kwargs)
    assert err.value.field == field and err.value.fix


# ---------------------------------------------------------------------------------------------------- technique table
def test_the_technique_table_matches_the_corpus_entries():
    corpus = sorted((REPO / "knowledge" / "corpus" / "attack-ics").glob("*.md"))
    assert len(corpus) >= 10
    for path in corpus:
        head = path.read_text().split("---")[1]
        tid = re.search(r"technique_id: (T\d{4})", head)[1]
        tactics = [t.strip() for t in re.search(r"tactics: \[(.*)\]", head)[1].split(",")]
        edition = re.search(r'edition: "v(\d+)"', head)[1]
        assert ATTACK_ICS_VERSION.split(".")[0] == edition
        assert list(technique(tid).tactics) == tactics, tid
    # the subset GridSage maps to, with the published names
    assert {"T0814", "T0815", "T0836", "T0843", "T0846", "T0848", "T0855", "T0859"} <= set(TECHNIQUES)
    assert technique("t0848").name == "Rogue Master" and technique("T0846").tactics == ("Discovery",)
    assert "Network Traffic: Network Traffic Flow" in technique("T0846").data_sources
    assert ATTACK_ICS_ATTRIBUTION.startswith("© The MITRE Corporation.")
    with pytest.raises(InputError):
        technique("T0000")
