"""The public-data-set evaluation's converter (evals/cyber_public.py) on a capture written in the test itself.

The capture is built packet by packet with dpkt; every expected value is worked out by hand below from the
protocol definitions (Zeek conn_state/history letters, Modbus PDU layouts, the score formulas), never taken from
the converter's output.  No data set file is needed.
"""

import socket
import struct

import dpkt
import numpy as np
import pytest

from gridsage.errors import InputError
from gridsage.evals import cyber_public as cp

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
MASTER, RTU, SCANNER, RTU2 = "10.0.0.1", "10.0.0.2", "10.0.0.9", "10.0.0.3"


def _tcp(src, dst, sport, dport, flags, payload=b""):
    tcp = dpkt.tcp.TCP(sport=sport, dport=dport, flags=flags, data=payload)
    ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=dpkt.ip.IP_PROTO_TCP, data=tcp)
    return bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, type=dpkt.ethernet.ETH_TYPE_IP, data=ip))


def _adu(transaction, unit, pdu):
    # MBAP: transaction id, protocol id 0, length = unit id + PDU, unit id (Modbus TCP guide clause 3.1.3)
    return struct.pack(">HHHB", transaction, 0, len(pdu) + 1, unit) + pdu


def _arp():
    return bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\xff" * 6, type=dpkt.ethernet.ETH_TYPE_ARP,
                                        data=dpkt.arp.ARP()))


# packet, label (1 = attack, as the data set's _labeled.csv writes it)
PACKETS = [
    (_tcp(MASTER, RTU, 40000, 502, SYN), 0),                                             # 1  conn 0: S
    (_tcp(RTU, MASTER, 502, 40000, SYN | ACK), 0),                                       # 2  h
    (_tcp(MASTER, RTU, 40000, 502, ACK), 0),                                             # 3  A
    (_tcp(MASTER, RTU, 40000, 502, PSH | ACK, _adu(7, 1, bytes([6]) + struct.pack(">HH", 99, 1234))), 1),  # 4 D
    (_tcp(RTU, MASTER, 502, 40000, PSH | ACK, _adu(7, 1, bytes([6]) + struct.pack(">HH", 99, 1234))), 1),  # 5 d
    (_tcp(MASTER, RTU, 40000, 502, PSH | ACK, _adu(8, 1, bytes([3]) + struct.pack(">HH", 0, 2))), 0),
    (_tcp(RTU, MASTER, 502, 40000, PSH | ACK, _adu(8, 1, bytes([0x83, 2]))), 0),         # 7  exception 2
    (_tcp(MASTER, RTU, 40000, 502, FIN | ACK), 0),                                       # 8  F
    (_tcp(RTU, MASTER, 502, 40000, FIN | ACK), 0),                                       # 9  f
    (_tcp(MASTER, RTU, 40000, 502, ACK), 0),                                             # 10 A again
    (_tcp(SCANNER, RTU, 41000, 502, SYN), 1),                                            # 11 conn 1: unanswered
    (_tcp(SCANNER, RTU2, 41001, 502, SYN), 1),                                           # 12 conn 2: S
    (_tcp(RTU2, SCANNER, 502, 41001, RST | ACK), 1),                                     # 13 refused: r
    (_arp(), 0),                                                                         # 14 no IP: no record
]


@pytest.fixture()
def capture(tmp_path):
    pcap = tmp_path / "send_a_fake_command_modbus_6RTU_with_operate.pcap"
    with open(pcap, "wb") as fh:
        writer = dpkt.pcap.Writer(fh)
        for i, (frame, _) in enumerate(PACKETS):
            writer.writepkt(frame, ts=1424798120.0 + 0.01 * i)
    (tmp_path / (pcap.stem + "_labeled.csv")).write_text(
        "".join(f"{i};{label}\r\n" for i, (_, label) in enumerate(PACKETS, start=1)))
    return pcap


def test_connections_follow_zeek_states(capture):
    c = cp.convert(capture)
    conn = c.conn.set_index("id.orig_h")
    assert len(c.conn) == 3
    # SYN, SYN-ACK, FIN both ways -> SF; a lone SYN -> S0; SYN answered by RST -> REJ (Zeek conn_state)
    assert conn.loc[MASTER, "conn_state"] == "SF"
    assert list(c.conn["conn_state"]) == ["SF", "S0", "REJ"]  # in order of first packet
    assert list(c.conn["id.resp_h"]) == [RTU, RTU, RTU2]
    # letters once each in first-seen order, originator upper case: S h A D d F f
    assert conn.loc[MASTER, "history"] == "ShADdFf"
    assert (conn.loc[MASTER, "orig_pkts"], conn.loc[MASTER, "resp_pkts"]) == (6, 4)
    # payload bytes: requests 12 (7 MBAP + 5 PDU) + 12; responses 12 + 9 (7 + 2)
    assert (conn.loc[MASTER, "orig_bytes"], conn.loc[MASTER, "resp_bytes"]) == (24, 21)
    assert (conn.loc[MASTER, "id.resp_p"], conn.loc[MASTER, "service"]) == (502, "modbus")
    # every TCP packet has its connection, the ARP frame none
    assert list(c.packets["conn"]) == [0] * 10 + [1, 2, 2, -1]


def test_modbus_transactions_and_records(capture):
    c = cp.convert(capture)
    m = c.modbus
    assert list(m["function"]) == ["6", "3"]
    # write single register 99 -> reference 40100, value 1234; read at 0 -> 40001, answered by exception 2
    assert list(m["object"]) == ["40100", "40001"]
    assert list(m["value"]) == ["1234", "illegal_data_address"]
    assert list(m["status"]) == ["success", "exception"]
    assert list(m["source"]) == [MASTER, MASTER] and list(m["destination"]) == [RTU, RTU]
    assert list(c.packets["modbus"]) == [-1, -1, -1, 0, 0, 1, 1] + [-1] * 7
    # read back through read_logs: 3 connections + 2 Modbus records, nothing rejected, kinds per the spec
    r = c.records
    assert c.rejected == 0 and len(r) == 5
    assert sorted(r["kind"]) == ["connection"] * 3 + ["read", "write"]
    write = r[r["kind"] == "write"].iloc[0]
    assert (write["source"], write["destination"], write["destination_port"], write["object"]) == \
        (MASTER, RTU, 502, "40100")
    assert r["time_utc"].is_monotonic_increasing
    assert list(c.packets["label"]) == [label for _, label in PACKETS]


def test_packet_techniques_and_scores(capture):
    c = cp.convert(capture)
    r = c.records
    # flag the write transaction T0855 and the unanswered SYN's connection T0846, nothing else
    tech = np.full(len(r), "normal", dtype=object)
    tech[((r["log"] == "modbus") & (r["function"] == "6")).to_numpy()] = "T0855"
    tech[((r["log"] == "conn") & (r["function"] == "S0")).to_numpy()] = "T0846"
    pkt = cp.packet_techniques(c, tech)
    assert list(pkt) == ["normal"] * 3 + ["T0855"] * 2 + ["normal"] * 5 + ["T0846"] + ["normal"] * 3
    labels = c.packets["label"].to_numpy()
    s = cp.score(labels, pkt, np.isin(pkt, ["T0855"]))
    # attack packets 4, 5, 11, 12, 13 (5); flagged 4, 5, 11 (3), all attack -> P = 3/3, R = 3/5;
    # with the right id (T0855) only 4 and 5 -> technique P = 2/3, technique R = 2/5
    assert (s["attack"], s["flagged"], s["tp"], s["tp_technique"]) == (5, 3, 3, 2)
    assert s["precision"] == pytest.approx(1.0) and s["recall"] == pytest.approx(0.6)
    assert s["f1"] == pytest.approx(2 * 1.0 * 0.6 / 1.6)
    assert s["technique_precision"] == pytest.approx(2 / 3) and s["technique_recall"] == pytest.approx(0.4)
    # a record is an attack record when any of its packets is: write transaction (4, 5), the read (6, 7) not;
    # connections: master's (packets 4, 5 inside), S0 (11) and REJ (12, 13) -> all three
    rec = cp.record_labels(c)
    expected = {("modbus", "6"): 1, ("modbus", "3"): 0, ("conn", "SF"): 1, ("conn", "S0"): 1, ("conn", "REJ"): 1}
    assert {(lg, f): int(v) for lg, f, v in zip(r["log"], r["function"], rec)} == expected


def test_bad_labels_are_typed_errors(tmp_path):
    bad = tmp_path / "bad_labeled.csv"
    bad.write_text("1;0\n2;7\n")
    with pytest.raises(InputError) as err:
        cp.read_labels(bad)
    assert err.value.field == "labels"
    short = tmp_path / "short_labeled.csv"
    short.write_text("1;0\n2;1\n")
    assert list(cp.read_labels(short)) == [0, 1]
    with pytest.raises(InputError) as err:  # the capture has 14 packets, the file numbers 2
        cp.read_labels(short, packets=14)
    assert err.value.field == "labels"


def test_command_line_help():
    with pytest.raises(SystemExit) as done:
        cp.main(["--help"])
    assert done.value.code == 0


def _poll(client, server, port, transaction, pdu, response):
    """One Modbus transaction on its own TCP connection, as the data set's master polls: 8 packets."""
    return [_tcp(client, server, port, 502, SYN), _tcp(server, client, 502, port, SYN | ACK),
            _tcp(client, server, port, 502, ACK), _tcp(client, server, port, 502, PSH | ACK, _adu(transaction, 1, pdu)),
            _tcp(server, client, 502, port, PSH | ACK, _adu(transaction, 1, response)),
            _tcp(client, server, port, 502, FIN | ACK), _tcp(server, client, 502, port, FIN | ACK),
            _tcp(client, server, port, 502, ACK)]


def test_evaluate_end_to_end_flags_the_foreign_write_only(tmp_path):
    # the master reads holding register 0 of the RTU every 2 s for 200 s; at 131 s a host that never polled writes
    # coil 5 on the same RTU (labelled 1).  Baseline window [0, 120) s holds master polls only, so by construction
    # the write is a command from an unusual master (T0855) and no master poll is an attack.
    stem = "send_a_fake_command_modbus_6RTU_with_operate"
    frames = []
    read, answer = bytes([3]) + struct.pack(">HH", 0, 1), bytes([3, 2]) + struct.pack(">H", 500)
    for k in range(100):
        frames += [(2.0 * k + 0.001 * j, f, 0) for j, f in
                   enumerate(_poll(MASTER, RTU, 40000 + k, k, read, answer))]
    write = bytes([5]) + struct.pack(">HH", 4, 0xFF00)
    frames += [(131.0 + 0.001 * j, f, 1) for j, f in enumerate(_poll(SCANNER, RTU, 50000, 1, write, write))]
    frames.sort(key=lambda x: x[0])
    with open(tmp_path / f"{stem}.pcap", "wb") as fh:
        writer = dpkt.pcap.Writer(fh)
        for t, frame, _ in frames:
            writer.writepkt(frame, ts=1424798120.0 + t)
    (tmp_path / f"{stem}_labeled.csv").write_text("".join(f"{i};{lab}\r\n" for i, (_, _, lab) in
                                                          enumerate(frames, start=1)))
    result = cp.evaluate(tmp_path, baseline=[(stem, 0.0, 120.0)])
    c = result["captures"][stem]
    assert (c["packets"], c["attack_packets"], c["rejected_lines"]) == (808, 8, 0)
    assert (c["conn_records"], c["modbus_records"]) == (101, 101)
    assert c["held_out_packets"] == 60 * 8  # polls at 0, 2, ..., 118 s
    s = c["packets_score"]
    assert s["items"] == 808 - 480 and s["attack"] == 8
    assert s["flagged"] == s["tp"] and s["precision"] == 1.0  # no master poll flagged
    assert s["tp_technique"] >= 2  # at least the write's request and response, as T0855
    assert [d["technique_id"] for d in c["detections"]] == ["T0855"]
    assert sum(sum(row.values()) for row in result["confusion_packets"].values()) == 808 - 480
