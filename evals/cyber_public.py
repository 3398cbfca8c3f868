"""Evaluate GridSage's cyber detection on a public labelled control-system data set: Lemay & Fernandez's Modbus/TCP
captures (CSET '16), with their per-packet labels.

The data set [1]_ (``github:antoine-lemay/Modbus_dataset``) holds packet captures of a small SCADA system, one
master (192.168.1.100) polling six Modbus/TCP outstations (192.168.1.101-106), with one attack each and a
``<capture>_labeled.csv`` beside each ``<capture>.pcap``: one line ``<packet number>;<0|1>`` per packet (1-based
number in the capture, 1 = the packet belongs to the attack, 0 = normal traffic).  The labels say *that* a packet is
malicious, not which technique; the attack class is the capture's (file name), mapped here to MITRE ATT&CK for ICS
by :data:`CAPTURES`.

What this script does, per capture (or for all captures merged into one batch with ``--merge``):

1. Reads the packets with ``dpkt`` (pcap, pcapng; Ethernet, Linux cooked or raw IP frames).
2. Converts them into two logs that :func:`gridsage.tools.cyber.ingest.read_logs` reads, as a network monitor would
   write them: a Zeek ``conn.log`` (TSV, one line per TCP/UDP connection, :func:`connections`) and a GridSage
   protocol-record CSV with one line per Modbus transaction (request and its response, :func:`modbus_transactions`).
3. Reads both logs back with ``read_logs`` (so the records pass the same validation as any operator's logs) and
   runs :func:`gridsage.tools.cyber.detect.detect_threats` on them, with no baseline (learned from the batch itself)
   or with one learned by ``learn_baseline`` from time windows given with ``--baseline``.
4. Maps each packet to its records (the Modbus transaction its PDU belongs to, else its connection) and scores the
   detector's technique per packet against the data set's label: per attack class and overall, precision and
   recall of "flagged at all" and of "flagged with the class's technique", a confusion table of the data set's
   classes against the technique ids GridSage assigned, and the same at record level.

Run::

    OMP_NUM_THREADS=1 python evals/cyber_public.py /tmp/cyberdata/lemay
    OMP_NUM_THREADS=1 python evals/cyber_public.py /tmp/cyberdata/lemay --merge \\
        --baseline send_a_fake_command_modbus_6RTU_with_operate:0:280

Notes
-----
Scores (per packet ``p``, label ``y_p`` in {0, 1}, GridSage's technique ``t_p``, 'normal' when unflagged; a
packet's technique is that of its Modbus transaction record when that record is flagged, else that of its
connection record; packets with no record, e.g. ARP, are 'normal'):

* detection precision ``P = |{p: y_p = 1, t_p != normal}| / |{p: t_p != normal}|``, recall
  ``R = |{p: y_p = 1, t_p != normal}| / |{p: y_p = 1}|`` (scikit-learn ``precision_recall_fscore_support``);
* technique precision and recall: the same with "``t_p`` is one of the class's ATT&CK ids (:data:`CAPTURES`)" in
  place of "``t_p != normal``";
* record level: a record is an attack record of its capture's class when any of its packets is labelled 1.

Packets inside a ``--baseline`` window are left out of every score (they trained the baseline).  The conversion
is a simplified monitor: a Modbus ADU split over two TCP segments is not reassembled; the connection state and
history follow Zeek's definitions [2]_ but are derived from the TCP flags seen, not from Zeek's own analyser.

References
----------
.. [1] A. Lemay and J. M. Fernandez, "Providing SCADA Network Data Sets for Intrusion Detection Research", 9th
   USENIX Workshop on Cyber Security Experimentation and Test (CSET '16), 2016.  Data:
   https://github.com/antoine-lemay/Modbus_dataset (labels corrected for the characterization capture 2023-03-31).
.. [2] Zeek documentation, ``base/protocols/conn/main.zeek``: ``conn_state`` (S0, REJ, S1, SF, S2, S3, RSTO,
   RSTR, RSTOS0, SH, OTH) and ``history`` letters.
.. [3] Modbus Organization, "MODBUS Application Protocol Specification V1.1b3" (2012), clauses 4.1 (PDU), 6
   (function codes) and 7 (exception responses); "MODBUS Messaging on TCP/IP Implementation Guide V1.0b" (2006),
   clause 3.1.3 (MBAP header: transaction id, protocol id 0, length, unit id).
.. [4] MITRE ATT&CK for ICS v16.1: T0846 Remote System Discovery, T0888 Remote System Information Discovery, T0861
   Point & Tag Identification, T0855 Unauthorized Command Message, T0866 Exploitation of Remote Services, T0867
   Lateral Tool Transfer, T0869 Standard Application Layer Protocol, T0886 Remote Services.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gridsage.errors import InputError

if TYPE_CHECKING:  # pandas, numpy and dpkt are imported lazily (import time)
    import numpy
    import pandas

__all__ = ["CAPTURES", "Capture", "connections", "convert", "evaluate", "main", "modbus_transactions",
           "read_capture", "read_labels", "score"]

#: capture file stem -> (attack class, ATT&CK for ICS ids that describe the attack [4]_, what the attack does).
#: The first id is the class's primary technique (the truth in the per-technique table).  Ids outside
#: GridSage's technique table (gridsage.tools.cyber._techniques.TECHNIQUES) cannot be predicted by GridSage.
CAPTURES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "characterization_modbus_6RTU_with_operate": (
        "characterization", ("T0846", "T0888", "T0861"),
        "a host that is no master (192.168.1.101) probes outstation 192.168.1.104 with thousands of Modbus reads "
        "(mostly function 4, answered with exception 2): discovery of points and device information"),
    "send_a_fake_command_modbus_6RTU_with_operate": (
        "fake_command", ("T0855",),
        "a host that is no master (192.168.1.101) writes a coil (function 5) on outstation 192.168.1.102"),
    "CnC_uploading_exe_modbus_6RTU_with_operate": (
        "cnc_upload_exe", ("T0869", "T0867"),
        "command-and-control session on a non-Modbus port and an executable moved over NetBIOS/SMB"),
    "exploit_ms08_netapi_modbus_6RTU_with_operate": (
        "exploit_ms08_netapi", ("T0866",),
        "MS08-067 (netapi) exploitation over SMB (TCP 445) and its shell session"),
    "moving_two_files_modbus_6RTU": (
        "moving_two_files", ("T0867",),
        "two files moved between hosts over NetBIOS/SMB (TCP 139) and a session on a non-Modbus port"),
}
MODBUS_PORT = 502
#: gap after which a TCP / UDP 5-tuple starts a new connection [s] (Zeek's default inactivity timeouts:
#: tcp_inactivity_timeout 5 min, udp_inactivity_timeout 1 min)
TCP_TIMEOUT_S, UDP_TIMEOUT_S = 300.0, 60.0
#: Zeek conn.log default fields and types [2]_
CONN_FIELDS = ("ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
               "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
               "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents")
CONN_TYPES = ("time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count",
              "string", "bool", "bool", "count", "string", "count", "count", "count", "count", "set[string]")
#: GridSage protocol-record CSV columns written for Modbus transactions
PROTOCOL_COLUMNS = ("time", "source", "destination", "protocol", "function", "object", "value", "source_port",
                    "destination_port", "status")
#: Modbus function -> leading digit of the classic data-model reference (0 coil, 1 discrete input, 3 input
#: register, 4 holding register), so address 0 of a holding register reads '40001'
_REFERENCE = {1: "0", 5: "0", 15: "0", 2: "1", 4: "3", 3: "4", 6: "4", 16: "4", 22: "4", 23: "4"}
_TH_FIN, _TH_SYN, _TH_RST, _TH_ACK = 0x01, 0x02, 0x04, 0x10


@dataclass
class Capture:
    """One capture converted into GridSage records, with the data set's labels.

    Attributes
    ----------
    name : str
        File stem of the capture.
    packets : pandas.DataFrame
        One row per packet (capture order): ``ts`` [s since epoch], ``src``, ``dst``, ``transport`` ('tcp', 'udp'
        or None), ``sport``, ``dport``, ``flags`` (TCP flags), ``payload`` [bytes], ``label`` (0/1, the data set's),
        ``conn`` and ``modbus`` (row of :attr:`conn` / :attr:`modbus` the packet belongs to, -1 for none).
    conn : pandas.DataFrame
        Zeek conn.log rows (:data:`CONN_FIELDS`).
    modbus : pandas.DataFrame
        Protocol-record CSV rows (:data:`PROTOCOL_COLUMNS`).
    records : pandas.DataFrame
        The records ``read_logs`` made of both logs (record contract), sorted by time, with ``capture`` and
        ``row`` (the :attr:`conn` / :attr:`modbus` row) and ``log`` ('conn' or 'modbus') added.
    rejected : int
        Lines ``read_logs`` rejected [-].
    """

    name: str
    packets: "pandas.DataFrame"
    conn: "pandas.DataFrame"
    modbus: "pandas.DataFrame"
    records: "pandas.DataFrame"
    rejected: int


# ------------------------------------------------------------------------------------------------------ reading
def read_labels(path: Path, packets: int | None = None) -> "numpy.ndarray":
    """The data set's per-packet labels: ``<packet number>;<0|1>`` lines, 1-based packet numbers.

    Parameters
    ----------
    path : pathlib.Path
        The ``<capture>_labeled.csv`` file.
    packets : int, optional
        Packets in the capture [-]; when given, the labels must number them 1..packets.

    Returns
    -------
    numpy.ndarray
        int8 label per packet, capture order (0 normal, 1 attack).

    Raises
    ------
    InputError
        If a line is not two ';'-separated integers, a label is not 0 or 1, or the numbers do not match the capture.
    """
    import numpy as np
    import pandas as pd

    try:
        table = pd.read_csv(path, sep=";", header=None, names=["packet", "label"], dtype="int64",
                            skip_blank_lines=True)
    except (ValueError, pd.errors.ParserError):
        raise InputError(f"{path.name} is not a list of '<packet>;<0|1>' lines", field="labels",
                         fix="give the data set's <capture>_labeled.csv unchanged.") from None
    if not table["label"].isin([0, 1]).all():
        raise InputError(f"{path.name} has a label other than 0 or 1", field="labels",
                         fix="give the data set's <capture>_labeled.csv unchanged.")
    expected = np.arange(1, (packets if packets is not None else len(table)) + 1)
    if len(table) != len(expected) or not np.array_equal(table["packet"].to_numpy(), expected):
        raise InputError(f"{path.name} numbers {len(table)} packets where the capture has {len(expected)}",
                         field="labels", fix="pair each capture with its own _labeled.csv.")
    return table["label"].to_numpy(dtype=np.int8)


def read_capture(path: Path) -> tuple["pandas.DataFrame", "pandas.DataFrame"]:
    """Packets and Modbus/TCP application data units of one capture, decoded with ``dpkt``.

    Parameters
    ----------
    path : pathlib.Path
        A pcap or pcapng file (link types Ethernet, Linux cooked capture, raw IP).

    Returns
    -------
    packets : pandas.DataFrame
        One row per packet: ``ts`` [s], ``src``, ``dst`` (IP addresses; None for non-IP frames), ``transport``
        ('tcp', 'udp' or None), ``sport``, ``dport`` (-1 when absent), ``flags`` (TCP flags, 0 otherwise),
        ``payload`` [bytes].
    adus : pandas.DataFrame
        One row per Modbus ADU found in a TCP segment to or from port 502: ``packet`` (row in ``packets``),
        ``transaction``, ``unit``, ``request`` (True when sent to port 502), ``pdu`` (bytes: function code and
        data).

    Raises
    ------
    InputError
        If the file is neither pcap nor pcapng, or its link type is not one of the above.

    Notes
    -----
    An ADU is ``transaction id (2) | protocol id (2, = 0) | length (2) | unit id (1) | PDU (length - 1)`` [3]_;
    several ADUs in one segment are all read, an ADU cut at the end of a segment is dropped.
    """
    import ipaddress

    import dpkt
    import pandas as pd

    rows, adus = [], []
    with open(path, "rb") as fh:
        head = fh.read(4)
        fh.seek(0)
        try:
            reader = dpkt.pcapng.Reader(fh) if head == b"\x0a\x0d\x0d\x0a" else dpkt.pcap.Reader(fh)
        except (ValueError, dpkt.dpkt.NeedData, dpkt.dpkt.UnpackError):
            raise InputError(f"{path.name} is not a pcap or pcapng capture", field="capture",
                             fix="give the data set's .pcap files unchanged.") from None
        link = reader.datalink()
        decoders = {1: dpkt.ethernet.Ethernet, 113: dpkt.sll.SLL, 101: dpkt.ip.IP, 12: dpkt.ip.IP, 14: dpkt.ip.IP}
        if link not in decoders:
            raise InputError(f"{path.name} has link type {link}, which this reader does not decode", field="capture",
                             fix="give an Ethernet (1), Linux cooked (113) or raw IP (101) capture.")
        decode = decoders[link]
        for i, (ts, buf) in enumerate(reader):
            row = [float(ts), None, None, None, -1, -1, 0, 0]
            try:
                frame = decode(buf)
                ip = frame if link in (101, 12, 14) else frame.data
            except (dpkt.dpkt.UnpackError, dpkt.dpkt.NeedData, struct.error):
                rows.append(row)
                continue
            if not isinstance(ip, (dpkt.ip.IP, dpkt.ip6.IP6)):
                rows.append(row)
                continue
            row[1] = str(ipaddress.ip_address(ip.src))
            row[2] = str(ipaddress.ip_address(ip.dst))
            l4 = ip.data
            if isinstance(l4, (dpkt.tcp.TCP, dpkt.udp.UDP)):
                payload = bytes(l4.data)
                row[3] = "tcp" if isinstance(l4, dpkt.tcp.TCP) else "udp"
                row[4], row[5], row[7] = l4.sport, l4.dport, len(payload)
                if row[3] == "tcp":
                    row[6] = l4.flags
                    if payload and MODBUS_PORT in (l4.sport, l4.dport):
                        adus += _adus(i, payload, request=l4.dport == MODBUS_PORT)
            rows.append(row)
    packets = pd.DataFrame(rows, columns=["ts", "src", "dst", "transport", "sport", "dport", "flags", "payload"])
    return packets, pd.DataFrame(adus, columns=["packet", "transaction", "unit", "request", "pdu"])


def _adus(packet: int, payload: bytes, request: bool) -> list[tuple]:
    """The Modbus ADUs of one TCP segment [3]_ (MBAP header parsed with :mod:`struct`)."""
    out, offset = [], 0
    while offset + 8 <= len(payload):
        transaction, protocol, length = struct.unpack_from(">HHH", payload, offset)
        if protocol != 0 or length < 2 or offset + 6 + length > len(payload):
            break
        out.append((packet, transaction, payload[offset + 6], request, payload[offset + 7: offset + 6 + length]))
        offset += 6 + length
    return out


# --------------------------------------------------------------------------------------------------- conversion
def connections(packets: "pandas.DataFrame") -> tuple["pandas.DataFrame", "numpy.ndarray"]:
    """Zeek conn.log rows of the TCP and UDP packets, and the connection of each packet.

    Parameters
    ----------
    packets : pandas.DataFrame
        As :func:`read_capture` returns them, in capture order.

    Returns
    -------
    conn : pandas.DataFrame
        One row per connection, ordered by its first packet, columns :data:`CONN_FIELDS`.
    packet_conn : numpy.ndarray
        int64 per packet: its row in ``conn``, -1 for packets of no TCP/UDP connection.

    Notes
    -----
    A connection is a 5-tuple's packets until it ends: a new one starts with a SYN (without ACK) once the previous
    one was answered (SYN-ACK) or closed (RST, or FIN both ways), or after :data:`TCP_TIMEOUT_S` /
    :data:`UDP_TIMEOUT_S` without packets.  The originator sent the first SYN (else the first packet, unless that
    came from port 502 or another port below 1024 to a higher one).  ``conn_state`` [2]_: no SYN seen -> OTH; SYN,
    no SYN-ACK -> REJ (responder reset), RSTOS0 (originator reset), SH (originator FIN), else S0; answered ->
    RSTO / RSTR (reset by originator / responder), SF (FIN both ways), S2 / S3 (FIN by originator / responder
    only), else S1.  UDP: SF when the responder answered, else S0.  ``history``: each of Zeek's letters once, in
    order of first occurrence (S SYN, H SYN-ACK, A pure ACK, D data, F FIN, R RST; upper case originator, lower
    case responder).  ``service`` is 'modbus' for TCP to port 502, else unset.  Bytes are payload bytes.
    """
    import numpy as np
    import pandas as pd

    flows: list[dict] = []
    current: dict[tuple, int] = {}
    packet_conn = np.full(len(packets), -1, dtype=np.int64)
    cols = [packets[c].to_numpy() for c in ("ts", "src", "dst", "transport", "sport", "dport", "flags", "payload")]
    for i, (ts, src, dst, transport, sport, dport, flags, payload) in enumerate(zip(*cols)):
        if transport is None:
            continue
        a, b = (src, int(sport)), (dst, int(dport))
        key = (transport,) + ((a, b) if a <= b else (b, a))
        j = current.get(key)
        syn = transport == "tcp" and flags & _TH_SYN and not flags & _TH_ACK
        if j is not None:
            f = flows[j]
            timeout = TCP_TIMEOUT_S if transport == "tcp" else UDP_TIMEOUT_S
            closed = f["rst"] or (f["fin_o"] and f["fin_r"])
            if ts - f["last"] > timeout or (syn and (closed or f["synack"])):
                j = None
        if j is None:
            orig, resp = a, b
            if not syn and transport == "tcp" and flags & _TH_SYN:  # a SYN-ACK first: its receiver originated
                orig, resp = b, a
            elif not syn and a[1] < 1024 <= b[1]:
                orig, resp = b, a
            j = len(flows)
            current[key] = j
            flows.append({"ts": ts, "last": ts, "orig": orig, "resp": resp, "transport": transport, "history": "",
                          "syn": False, "synack": False, "fin_o": False, "fin_r": False, "rst_o": False,
                          "rst_r": False, "rst": False, "orig_bytes": 0, "resp_bytes": 0, "orig_pkts": 0,
                          "resp_pkts": 0})
        f = flows[j]
        packet_conn[i] = j
        f["last"] = ts
        from_orig = a == f["orig"]
        f["orig_pkts" if from_orig else "resp_pkts"] += 1
        f["orig_bytes" if from_orig else "resp_bytes"] += int(payload)
        letters = []
        if transport == "tcp":
            if flags & _TH_SYN:
                letters.append("S" if not flags & _TH_ACK else "H")
                f["syn" if not flags & _TH_ACK else "synack"] = True
            elif flags & _TH_ACK and not payload and not flags & (_TH_FIN | _TH_RST):
                letters.append("A")
            if flags & _TH_FIN:
                letters.append("F")
                f["fin_o" if from_orig else "fin_r"] = True
            if flags & _TH_RST:
                letters.append("R")
                f["rst_o" if from_orig else "rst_r"] = True
                f["rst"] = True
        if payload:
            letters.append("D")
        for letter in letters:
            letter = letter if from_orig else letter.lower()
            if letter not in f["history"]:
                f["history"] += letter
    rows = []
    for j, f in enumerate(flows):
        if f["transport"] == "udp":
            state = "SF" if f["resp_pkts"] else "S0"
        elif not f["syn"] and not f["synack"]:
            state = "OTH"
        elif not f["synack"]:
            state = ("REJ" if f["rst_r"] else "RSTOS0" if f["rst_o"] else "SH" if f["fin_o"] else "S0")
        else:
            state = ("RSTO" if f["rst_o"] else "RSTR" if f["rst_r"] else "SF" if f["fin_o"] and f["fin_r"] else
                     "S2" if f["fin_o"] else "S3" if f["fin_r"] else "S1")
        service = "modbus" if f["transport"] == "tcp" and f["resp"][1] == MODBUS_PORT else "-"
        rows.append((f"{f['ts']:.6f}", f"C{j:07d}", f["orig"][0], f["orig"][1], f["resp"][0], f["resp"][1],
                     f["transport"], service, f"{f['last'] - f['ts']:.6f}", f["orig_bytes"], f["resp_bytes"], state,
                     "-", "-", 0, f["history"] or "-", f["orig_pkts"], "-", f["resp_pkts"], "-", "-"))
    return pd.DataFrame(rows, columns=list(CONN_FIELDS)), packet_conn


def _reference(function: int, address: int) -> str:
    """Classic Modbus data-model reference of a PDU address, e.g. holding register 0 -> '40001'."""
    number = address + 1
    return _REFERENCE.get(function, "") + (f"{number:04d}" if number <= 9999 else f"{number:05d}")


def _request_fields(pdu: bytes) -> tuple[str | None, str | None]:
    """(object, value) of a Modbus request PDU [3]_ (clause 6 layouts)."""
    fc = pdu[0]
    if fc in (1, 2, 3, 4, 15, 16) and len(pdu) >= 5:
        address, quantity = struct.unpack_from(">HH", pdu, 1)
        if fc == 16 and len(pdu) >= 8:
            return _reference(fc, address), str(struct.unpack_from(">H", pdu, 6)[0])
        return _reference(fc, address), None if fc in (1, 2, 3, 4) else str(quantity)
    if fc == 5 and len(pdu) >= 5:
        address, value = struct.unpack_from(">HH", pdu, 1)
        return _reference(fc, address), f"{value:04X}"
    if fc in (6, 22) and len(pdu) >= 5:
        address, value = struct.unpack_from(">HH", pdu, 1)
        return _reference(fc, address), str(value)
    if fc == 8 and len(pdu) >= 3:
        return str(struct.unpack_from(">H", pdu, 1)[0]), None
    if fc == 43 and len(pdu) >= 4:
        return f"0x{pdu[3]:02X}", f"MEI=0x{pdu[1]:02X}"
    return None, None


def _response_value(pdu: bytes) -> str | None:
    """The first value a read response returns (first register, or first byte of coils) [3]_."""
    fc = pdu[0]
    if fc in (3, 4) and len(pdu) >= 4:
        return str(struct.unpack_from(">H", pdu, 2)[0])
    if fc in (1, 2) and len(pdu) >= 3:
        return str(pdu[2])
    return None


def modbus_transactions(packets: "pandas.DataFrame", adus: "pandas.DataFrame", packet_conn: "numpy.ndarray"
                        ) -> tuple["pandas.DataFrame", "numpy.ndarray"]:
    """Protocol-record CSV rows, one per Modbus transaction, and the transaction of each packet.

    Parameters
    ----------
    packets, adus : pandas.DataFrame
        As :func:`read_capture` returns them.
    packet_conn : numpy.ndarray
        Connection of each packet (:func:`connections`).

    Returns
    -------
    modbus : pandas.DataFrame
        Columns :data:`PROTOCOL_COLUMNS`, ordered by the request (or the unmatched response): ``time`` of the
        request (ISO 8601, UTC), ``source`` the client, ``destination`` the server (port 502), ``function`` the
        decimal function code, ``object`` the data-model reference of the first point ('40001') or the MEI object
        id, ``value`` the written value (function 5 in hex 'FF00', 6 and 16 decimal, 15 the quantity) or the first
        value read, ``status`` 'success', 'exception' (response code + 128; ``value`` then the exception name) or
        'timeout' (no response in the capture).
    packet_modbus : numpy.ndarray
        int64 per packet: the transaction row of the first ADU in it, -1 for none.

    Notes
    -----
    A response is matched to the earliest unanswered request of the same connection, transaction id and unit.
    """
    import numpy as np
    import pandas as pd

    from gridsage.tools.cyber.ingest import MODBUS_EXCEPTIONS

    ts = packets["ts"].to_numpy()
    src, dst = packets["src"].to_numpy(), packets["dst"].to_numpy()
    sport, dport = packets["sport"].to_numpy(), packets["dport"].to_numpy()
    rows: list[list] = []
    pending: dict[tuple, list[int]] = {}
    packet_modbus = np.full(len(packets), -1, dtype=np.int64)
    for p, transaction, unit, request, pdu in adus.itertuples(index=False):
        key = (int(packet_conn[p]), transaction, unit)
        fc = pdu[0]
        if request:
            obj, value = _request_fields(pdu)
            row = [ts[p], src[p], dst[p], "modbus", str(fc), obj, value, int(sport[p]), int(dport[p]), "timeout"]
            pending.setdefault(key, []).append(len(rows))
            r = len(rows)
            rows.append(row)
        else:
            waiting = pending.get(key)
            if waiting:
                r = waiting.pop(0)
            else:  # a response whose request is outside the capture
                r = len(rows)
                rows.append([ts[p], dst[p], src[p], "modbus", str(fc & 0x7F), None, None, int(dport[p]),
                             int(sport[p]), "timeout"])
            row = rows[r]
            if fc & 0x80:
                row[9] = "exception"
                code = pdu[1] if len(pdu) > 1 else None
                row[6] = MODBUS_EXCEPTIONS.get(code, f"exception_{code}")
            else:
                row[9] = "success"
                if row[6] is None:
                    row[6] = _response_value(pdu)
        if packet_modbus[p] < 0:
            packet_modbus[p] = r
    frame = pd.DataFrame(rows, columns=list(PROTOCOL_COLUMNS))
    if len(frame):
        frame["time"] = pd.to_datetime(frame["time"], unit="s", utc=True).dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return frame, packet_modbus


def _zeek_tsv(conn: "pandas.DataFrame") -> str:
    """A Zeek conn.log in TSV with its header block [2]_."""
    head = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", "#path\tconn",
            "#fields\t" + "\t".join(CONN_FIELDS), "#types\t" + "\t".join(CONN_TYPES)]
    body = ["\t".join(str(v) for v in row) for row in conn.itertuples(index=False)]
    return "\n".join(head + body + ["#close"]) + "\n"


def _protocol_csv(modbus: "pandas.DataFrame") -> str:
    return modbus.to_csv(index=False, lineterminator="\n")


def convert(pcap: Path, labels: Path | None = None) -> Capture:
    """Read one capture and its labels and convert it into GridSage records through ``read_logs``.

    Parameters
    ----------
    pcap : pathlib.Path
        The capture.
    labels : pathlib.Path, optional
        Its ``_labeled.csv`` (default: beside the capture); labels are all 0 when the file is absent.

    Returns
    -------
    Capture
        Packets with labels and their records; the records of both logs sorted by time.

    Raises
    ------
    InputError
        From :func:`read_capture`, :func:`read_labels` or ``read_logs``.
    """
    import numpy as np
    import pandas as pd

    from gridsage.tools.cyber.ingest import read_logs

    packets, adus = read_capture(pcap)
    labels = labels if labels is not None else pcap.with_name(pcap.stem + "_labeled.csv")
    packets["label"] = read_labels(labels, len(packets)) if labels.exists() else np.zeros(len(packets), np.int8)
    conn, packet_conn = connections(packets)
    modbus, packet_modbus = modbus_transactions(packets, adus, packet_conn)
    packets["conn"], packets["modbus"] = packet_conn, packet_modbus
    parts, rejected = [], 0
    for log, frame, text, first_line in (("conn", conn, _zeek_tsv, 8), ("modbus", modbus, _protocol_csv, 2)):
        if not len(frame):
            continue
        batch = read_logs(text(frame), format="zeek" if log == "conn" else "protocol_csv")
        rejected += batch.counts.rejected
        records = batch.records.copy()
        records["log"] = log
        records["row"] = records["line"].to_numpy(dtype=np.int64) - first_line
        parts.append(records)
    records = (pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["time_utc", "log", "row"]))
    records = records.sort_values("time_utc", kind="stable").reset_index(drop=True)
    records["capture"] = pcap.stem
    return Capture(pcap.stem, packets, conn, modbus, records, rejected)


# ------------------------------------------------------------------------------------------------------ scoring
def packet_techniques(capture: Capture, record_technique) -> "numpy.ndarray":
    """GridSage's technique per packet: its Modbus transaction's when flagged, else its connection's, else 'normal'.

    Parameters
    ----------
    capture : Capture
    record_technique : array-like of str, shape (len(capture.records),)
        Technique id or 'normal' per record.

    Returns
    -------
    numpy.ndarray
        object array, shape (packets,): one technique id or 'normal' per packet.
    """
    import numpy as np

    records, packets = capture.records, capture.packets
    technique = np.asarray(record_technique, dtype=object)
    out = np.full(len(packets), "normal", dtype=object)
    for log, table in (("conn", capture.conn), ("modbus", capture.modbus)):  # a flagged transaction wins
        lookup = np.full(len(table), "normal", dtype=object)
        mine = (records["log"] == log).to_numpy()
        lookup[records["row"].to_numpy(dtype=np.int64)[mine]] = technique[mine]
        idx = packets[log].to_numpy(dtype=np.int64)
        values = np.full(len(packets), "normal", dtype=object)
        values[idx >= 0] = lookup[idx[idx >= 0]]
        out = np.where(values != "normal", values, out)
    return out


def record_labels(capture: Capture) -> "numpy.ndarray":
    """Per record of ``capture.records``: 1 when any of its packets is labelled attack, else 0.

    Returns
    -------
    numpy.ndarray
        int8, shape (len(capture.records),).
    """
    import numpy as np

    packets, records = capture.packets, capture.records
    out = np.zeros(len(records), dtype=np.int8)
    for log, table in (("conn", capture.conn), ("modbus", capture.modbus)):
        label = np.zeros(len(table), dtype=np.int8)
        idx = packets[log].to_numpy(dtype=np.int64)
        np.maximum.at(label, idx[idx >= 0], packets["label"].to_numpy(dtype=np.int8)[idx >= 0])
        mine = (records["log"] == log).to_numpy()
        out[mine] = label[records["row"].to_numpy(dtype=np.int64)[mine]]
    return out


def score(label, predicted, right) -> dict[str, float]:
    """Detection and technique precision and recall of one set of items (packets or records).

    Parameters
    ----------
    label : array-like of int, shape (n,)
        The data set's label per item (1 attack, 0 normal).
    predicted : array-like of str, shape (n,)
        GridSage's technique id per item, 'normal' when not flagged.
    right : array-like of bool, shape (n,)
        Whether the predicted id is one that describes the attack of the item's capture (:data:`CAPTURES`).

    Returns
    -------
    dict
        ``items``, ``attack`` (labelled 1), ``flagged`` (predicted != 'normal'), ``tp`` (attack and flagged),
        ``precision``, ``recall``, ``f1`` (flagged at all), ``tp_technique`` (attack, flagged with a right id),
        ``technique_precision``, ``technique_recall`` [0..1; NaN when the denominator is 0].

    Notes
    -----
    ``precision = tp / flagged``, ``recall = tp / attack``, ``f1 = 2 P R / (P + R)``;
    ``technique_precision = tp_technique / flagged`` (a flagged item with a wrong id counts against it),
    ``technique_recall = tp_technique / attack``.
    """
    import numpy as np

    y = np.asarray(label).astype(bool)
    flagged = np.asarray(predicted, dtype=object) != "normal"
    right = np.asarray(right, dtype=bool) & flagged & y
    n_attack, n_flagged, tp, tp_t = int(y.sum()), int(flagged.sum()), int((y & flagged).sum()), int(right.sum())
    div = lambda a, b: a / b if b else float("nan")  # noqa: E731
    p, r = div(tp, n_flagged), div(tp, n_attack)
    return {"items": int(len(y)), "attack": n_attack, "flagged": n_flagged, "tp": tp, "precision": p, "recall": r,
            "f1": div(2 * p * r, p + r) if n_flagged and n_attack and (p + r) else float("nan"),
            "tp_technique": tp_t, "technique_precision": div(tp_t, n_flagged),
            "technique_recall": div(tp_t, n_attack)}


# --------------------------------------------------------------------------------------------------- evaluation
def _window(text: str) -> tuple[str, float, float]:
    """``STEM[:START[:END]]`` -> (stem, start [s], end [s]) of a baseline window."""
    parts = text.split(":")
    try:
        start = float(parts[1]) if len(parts) > 1 and parts[1] else 0.0
        end = float(parts[2]) if len(parts) > 2 and parts[2] else float("inf")
    except ValueError:
        raise argparse.ArgumentTypeError("give STEM[:START_S[:END_S]], times in seconds from the capture's start") \
            from None
    if len(parts) > 3 or not parts[0] or not 0 <= start < end:
        raise argparse.ArgumentTypeError("give STEM[:START_S[:END_S]] with 0 <= START_S < END_S")
    return parts[0], start, end


def evaluate(folder: Path, captures: list[str] | None = None, merge: bool = False,
             baseline: list[tuple[str, float, float]] | tuple = ()) -> dict:
    """Convert the data set's captures, run GridSage's detection and score it against the labels.

    Parameters
    ----------
    folder : pathlib.Path
        Folder holding ``<capture>.pcap`` and ``<capture>_labeled.csv`` files.
    captures : list of str, optional
        Capture stems to evaluate (default: every one of :data:`CAPTURES` whose pcap is in ``folder``).
    merge : bool, default False
        Run detection once on all captures' records together (one network, one afternoon, disjoint times)
        instead of once per capture.
    baseline : list of (stem, start [s], end [s])
        Windows (seconds from the capture's first packet) whose records train ``learn_baseline``; their packets
        and records are left out of the scores.  Empty: no baseline (the detector learns from the batch itself).

    Returns
    -------
    dict
        ``captures`` (per capture: packets, records, rejected lines, detections, packet and record scores),
        ``overall`` (pooled packet and record scores), ``confusion_packets`` / ``confusion_records``
        ({class: {technique: count}}), ``by_technique`` (``score_by_technique`` per packet, primary ids),
        ``missing`` (stems whose pcap is absent), ``baseline`` (windows used, records), ``seconds`` (timings).

    Raises
    ------
    InputError
        If the folder has none of the captures, a capture stem is unknown, or a file is unreadable.
    """
    import numpy as np
    import pandas as pd

    from gridsage.tools.cyber.detect import detect_threats, learn_baseline
    from gridsage.tools.cyber.evaluate import score_by_technique

    if not folder.is_dir():
        raise InputError(f"{folder.name} is not a folder", field="folder",
                         fix="give the folder holding the data set's .pcap and _labeled.csv files.")
    stems = list(captures) if captures else list(CAPTURES)
    unknown = [s for s in stems + [w[0] for w in baseline] if s not in CAPTURES]
    if unknown:
        raise InputError(f"unknown capture {unknown[0][:80]!r}", field="captures",
                         fix="use the stems of " + ", ".join(CAPTURES) + ".")
    missing = [s for s in stems if not (folder / f"{s}.pcap").is_file()]
    stems = [s for s in stems if s not in missing]
    if not stems:
        raise InputError("none of the captures is in the folder", field="folder",
                         fix="put the data set's .pcap files with their _labeled.csv files in the folder.")
    t = time.perf_counter()
    converted = {s: convert(folder / f"{s}.pcap") for s in dict.fromkeys(stems + [w[0] for w in baseline])}
    seconds = {"convert": time.perf_counter() - t}

    # baseline windows: their records train the baseline, their packets and records are not scored
    held_packets = {s: np.zeros(len(c.packets), dtype=bool) for s, c in converted.items()}
    held_records = {s: np.zeros(len(c.records), dtype=bool) for s, c in converted.items()}
    for stem, start, end in baseline:
        c = converted[stem]
        t0 = c.packets["ts"].min()
        rel = c.packets["ts"].to_numpy() - t0
        held_packets[stem] |= (rel >= start) & (rel < end)
        rrel = (c.records["time_utc"] - pd.Timestamp(t0, unit="s", tz="UTC")).dt.total_seconds().to_numpy()
        held_records[stem] |= (rrel >= start) & (rrel < end)
    model = None
    if baseline:
        t = time.perf_counter()
        train = pd.concat([converted[s].records[held_records[s]] for s in dict.fromkeys(w[0] for w in baseline)],
                          ignore_index=True).sort_values("time_utc", kind="stable").reset_index(drop=True)
        model = learn_baseline(train)
        seconds["learn_baseline"] = time.perf_counter() - t

    t = time.perf_counter()
    reports = {}
    if merge:
        records = pd.concat([converted[s].records for s in stems], ignore_index=True)
        order = np.argsort(records["time_utc"].to_numpy(), kind="stable")
        report = detect_threats(records.iloc[order].reset_index(drop=True), baseline=model)
        technique = np.empty(len(records), dtype=object)
        technique[order] = np.asarray(report.record_technique, dtype=object)
        detection = np.empty(len(records), dtype=object)
        detection[order] = np.asarray(report.record_detection, dtype=object)
        offset = 0
        for s in stems:
            n = len(converted[s].records)
            reports[s] = (technique[offset: offset + n], detection[offset: offset + n], report.detections)
            offset += n
    else:
        for s in stems:
            report = detect_threats(converted[s].records, baseline=model)
            reports[s] = (np.asarray(report.record_technique, dtype=object),
                          np.asarray(report.record_detection, dtype=object), report.detections)
    seconds["detect"] = time.perf_counter() - t

    out: dict = {"captures": {}, "missing": missing, "merge": merge, "seconds": seconds,
                 "baseline": {"windows": [list(w) for w in baseline],
                              "records": int(sum(h.sum() for h in held_records.values())) if baseline else 0}}
    pooled = {"packets": [], "records": []}
    for s in stems:
        c = converted[s]
        cls, ids, _ = CAPTURES[s]
        rec_tech, rec_det, detections = reports[s]
        pkt_tech = packet_techniques(c, rec_tech)
        keep_p, keep_r = ~held_packets[s], ~held_records[s]
        pkt_label = c.packets["label"].to_numpy()
        rec_label = record_labels(c)
        used = set(rec_det[rec_det != ""]) if len(rec_det) else set()
        dets = [{"id": d.id, "technique_id": d.technique_id, "rule": d.rule, "severity": d.severity,
                 "records": d.records, "source": d.source, "first_utc": d.first_utc.isoformat()}
                for d in detections if d.id in used]
        out["captures"][s] = {
            "class": cls, "ids": list(ids), "packets": int(len(c.packets)), "attack_packets": int(pkt_label.sum()),
            "packets_without_record": int(((c.packets["conn"] < 0) & (c.packets["modbus"] < 0)).sum()),
            "conn_records": int((c.records["log"] == "conn").sum()),
            "modbus_records": int((c.records["log"] == "modbus").sum()), "rejected_lines": c.rejected,
            "held_out_packets": int((~keep_p).sum()), "held_out_records": int((~keep_r).sum()),
            "detections": dets,
            "packets_score": score(pkt_label[keep_p], pkt_tech[keep_p], np.isin(pkt_tech[keep_p], ids)),
            "records_score": score(rec_label[keep_r], rec_tech[keep_r], np.isin(rec_tech[keep_r], ids)),
        }
        for level, label, tech, keep in (("packets", pkt_label, pkt_tech, keep_p),
                                         ("records", rec_label, rec_tech, keep_r)):
            pooled[level].append(pd.DataFrame({"label": label[keep], "predicted": tech[keep],
                                               "right": np.isin(tech[keep], ids),
                                               "truth": np.where(label[keep] == 1, cls, "normal"),
                                               "primary": np.where(label[keep] == 1, ids[0], "normal")}))
    out["overall"] = {}
    for level, frames in pooled.items():
        f = pd.concat(frames, ignore_index=True)
        out["overall"][level] = score(f["label"], f["predicted"], f["right"])
        out[f"confusion_{level}"] = pd.crosstab(f["truth"], f["predicted"]).to_dict(orient="index")
        if level == "packets":
            table = score_by_technique(f["predicted"].to_numpy(), f["primary"].to_numpy())
            out["by_technique"] = json.loads(pd.DataFrame(table).to_json(orient="index"))
    return out


# ------------------------------------------------------------------------------------------------------- report
def render(result: dict) -> str:
    """The evaluation as plain-text tables (figures as measured, 3 decimals)."""
    import pandas as pd

    lines = []
    mode = "merged batch" if result["merge"] else "one batch per capture"
    bl = result["baseline"]
    lines.append(f"Detection: {mode}; baseline: " + (
        ", ".join(f"{s}[{a:g}s, {b:g}s)" for s, a, b in bl["windows"]) + f" ({bl['records']} records, not scored)"
        if bl["windows"] else "none (learned from the batch itself)"))
    if result["missing"]:
        lines.append("Captures absent from the folder (not evaluated): " + ", ".join(result["missing"]))
    rows = []
    for s, c in result["captures"].items():
        rows.append({"class": c["class"], "ids": "/".join(c["ids"]), "packets": c["packets"],
                     "attack_pkts": c["attack_packets"], "no_record": c["packets_without_record"],
                     "conn_recs": c["conn_records"], "modbus_recs": c["modbus_records"],
                     "rejected": c["rejected_lines"], "held_out": c["held_out_packets"],
                     "detections": len(c["detections"])})
    lines += ["", "Captures", pd.DataFrame(rows).to_string(index=False)]
    for level in ("packets", "records"):
        table = {c["class"]: c[f"{level}_score"] for c in result["captures"].values()}
        table["all (pooled)"] = result["overall"][level]
        frame = pd.DataFrame.from_dict(table, orient="index")
        lines += ["", f"Scores per attack class, {level} (P/R: flagged at all; technique P/R: flagged with the "
                      "class's ATT&CK id)", frame.to_string(float_format=lambda v: f"{v:.3f}")]
        conf = pd.DataFrame.from_dict(result[f"confusion_{level}"], orient="index").fillna(0).astype(int)
        lines += ["", f"Confusion, {level}: data set class (rows) x GridSage technique (columns)", conf.to_string()]
    lines += ["", "score_by_technique, packets (truth: the class's primary ATT&CK id)",
              pd.DataFrame.from_dict(result["by_technique"], orient="index").to_string(
                  float_format=lambda v: f"{v:.3f}")]
    for s, c in result["captures"].items():
        if c["detections"]:
            lines += ["", f"Detections touching {c['class']} (first 10 of {len(c['detections'])})",
                      pd.DataFrame(c["detections"][:10]).to_string(index=False)]
    lines += ["", "Time [s]: " + ", ".join(f"{k} {v:.2f}" for k, v in result["seconds"].items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: evaluate, print the tables, optionally write the figures as JSON."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Captures and classes:\n" + "\n".join(f"  {s}: {c} ({'/'.join(i)})" for s, (c, i, _) in
                                                      CAPTURES.items()))
    parser.add_argument("folder", type=Path, help="folder with the data set's <capture>.pcap and "
                                                  "<capture>_labeled.csv files")
    parser.add_argument("--capture", action="append", dest="captures", metavar="STEM",
                        help="evaluate only this capture (repeatable; default: all present)")
    parser.add_argument("--merge", action="store_true", help="detect on all captures' records as one batch")
    parser.add_argument("--baseline", action="append", type=_window, default=[], metavar="STEM[:START_S[:END_S]]",
                        help="learn the baseline from this window of a capture, seconds from its start "
                             "(repeatable); its packets are not scored. Default: no baseline.")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON to FILE")
    args = parser.parse_args(argv)
    try:
        result = evaluate(args.folder, args.captures, args.merge, args.baseline)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(render(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
