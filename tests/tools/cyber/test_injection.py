"""Prompt injection through log fields: no payload, in any free field of any format, changes a detection or a
verdict, and no payload text, control character, bidirectional override or ANSI escape reaches a result.

Setting: a short simulator run with every attack chain (2 h, 4 outstations, 5 s polling), written in every format
:func:`read_logs` takes (the simulator's own files, and from them RFC 3164 syslog, Zeek JSON, Suricata EVE and a
Windows JSON export).  For each cell (format, field) the payloads of :data:`PAYLOADS` are placed in that field of
real log lines (attack lines and normal lines), written as the format's own writer would (CSV quoting, JSON and Zeek
escaping; syslog raw, so a line break forges a second line), read back and scored together with the other files.

Oracle: the same run with each payload replaced by its :func:`neutral` control (same length, characters and
separators, words ROT13-encoded, so meaningless).  Whatever a field's *form* legitimately changes (a line made
unreadable, a new host name, an unknown function code) happens to payload and control alike; what the *words*
could change must not happen: the detections (technique, rule, basis, severity, record count) and the rejected rows
(field, reason) must be identical, and the verdict must equal the clean run's (no payload may lower it).  The fixed
verdict rule is the planner's (issue 19): 'attack_suspected' with any high or critical detection, 'suspicious' with
any other, else 'no_findings'.

The fast suite places all 25 payloads in one run per cell (each on its own lines); the slow suite (``--full``) runs
every (payload, cell) alone.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field as dc_field

import pytest

from gridsage.tools.cyber._payloads import PAYLOADS, neutral
from gridsage.tools.cyber._untrusted import shown
from gridsage.tools.cyber.ingest import ingest_logs, read_logs

SEED, BASELINE_SEED = 1907, 2024
#: characters no result may hold: C0/C1 controls (ESC included), zero-width, line/paragraph separators, bidi controls
FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
SEVERE = ("high", "critical")


def _triage_records():
    try:
        from gridsage.tools.cyber.triage import triage_records
    except ImportError:  # helper T1's module (Contract C) not in this checkout yet
        return None
    return triage_records


def _detect_module():
    try:
        from gridsage.tools.cyber import detect
    except ImportError:  # helper D's module (Contract B) not in this checkout yet
        return None
    return detect


def verdict_of(detections) -> str:
    """The planner's fixed verdict rule (issue 19), written out independently of GridSage's code."""
    if any(d.severity in SEVERE for d in detections):
        return "attack_suspected"
    return "suspicious" if detections else "no_findings"


# ----------------------------------------------------------------------------------------------------------- formats
@dataclass
class Doc:
    """One log file as rows a test can edit field by field and render as the format's writer would."""

    name: str
    fmt: str  # read_logs format
    replaces: str  # the simulator file it stands for in the batch
    rows: list
    labels: list  # technique id or 'normal', per row
    fields: dict  # cell name -> function(row, value) -> new row
    render: object  # function(rows) -> text
    eligible: dict = dc_field(default_factory=dict)  # cell -> function(row) -> bool (rows that carry the field)
    kwargs: dict = dc_field(default_factory=dict)


def _csv_text(header, rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _set_item(key):
    def setter(row, value):
        new = list(row)
        new[key] = value
        return new
    return setter


def _set_path(path: str):
    keys = path.split("/")

    def setter(row, value):
        new = json.loads(json.dumps(row))
        target = new
        for k in keys[:-1]:
            target = target.setdefault(k, {})
        target[keys[-1]] = value
        return new
    return setter


def _has_path(path: str):
    keys = path.split("/")

    def has(row):
        target = row
        for k in keys[:-1]:
            target = target.get(k) if isinstance(target, dict) else None
        return isinstance(target, dict) and keys[-1] in target
    return has


def _zeek_escape(value: str) -> str:
    """Zeek's ASCII writer: the separator, line breaks, backslash and non-printable bytes as \\xNN."""
    out = []
    for byte in value.encode("utf-8"):
        ch = chr(byte)
        out.append(ch if 0x20 <= byte < 0x7f and ch not in "\t\\" else f"\\x{byte:02x}")
    return "".join(out)


def _csv_doc(text, name, fmt, replaces, labels, cells):
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    return Doc(name, fmt, replaces, body, labels, {c: _set_item(header.index(c)) for c in cells},
               lambda rs, h=header: _csv_text(h, rs))


_RFC5424 = re.compile(r"^<(\d+)>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-) (.*)$")
SYSLOG_CELLS = {"HOSTNAME": 2, "APP-NAME": 3, "PROCID": 4, "MSGID": 5, "STRUCTURED-DATA": 6, "MSG": 7}


def _sd(value: str) -> str:
    """RFC 5424 clause 6.3.3: PARAM-VALUE with '"', '\\' and ']' escaped."""
    return '[gs@32473 note="' + re.sub(r'(["\\\]])', r"\\\1", value) + '"]'


def _syslog_docs(text, labels):
    rows = [list(_RFC5424.match(line).groups()) for line in text.splitlines()]

    def render5424(rs):
        return "".join(f"<{r[0]}>1 {r[1]} {r[2]} {r[3]} {r[4]} {r[5]} {r[6]} {r[7]}\n" for r in rs)

    def set5424(i):
        def setter(row, value):
            new = list(row)
            new[i + 1] = _sd(value) if i == 6 else value
            return new
        return setter

    rfc5424 = Doc("syslog_5424", "syslog", "syslog.log", rows, labels,
                  {c: set5424(i - 1) for c, i in SYSLOG_CELLS.items()}, render5424)
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()

    def bsd(ts):  # 2026-06-01T00:01:09.724Z -> 'Jun  1 00:01:09' (RFC 3164 clause 4.1.2)
        return f"{months[int(ts[5:7]) - 1]} {int(ts[8:10]):2d} {ts[11:19]}"

    rows3164 = [[r[0], bsd(r[1]), r[2], r[3], r[4] if r[4] != "-" else "1", r[7]] for r in rows]

    def render3164(rs):
        return "".join(f"<{r[0]}>{r[1]} {r[2]} {r[3]}[{r[4]}]: {r[5]}\n" for r in rs)

    rfc3164 = Doc("syslog_3164", "syslog", "syslog.log", rows3164, labels,
                  {"HOSTNAME": _set_item(2), "TAG": _set_item(3), "PID": _set_item(4), "CONTENT": _set_item(5)},
                  render3164, kwargs={"tz": "UTC", "year": 2026})
    return rfc5424, rfc3164


ZEEK_CELLS = ("uid", "id.orig_h", "service", "conn_state", "history", "tunnel_parents")


def _zeek_docs(text, labels):
    lines = text.splitlines()
    head = [line for line in lines if line.startswith("#")]
    fields = next(line for line in head if line.startswith("#fields")).split("\t")[1:]
    body = [line.split("\t") for line in lines if not line.startswith("#")]
    top, tail = head[:-1], head[-1:]

    def render(rs):
        return "\n".join(top + ["\t".join(r) for r in rs] + tail) + "\n"

    def set_tsv(name):
        i = fields.index(name)

        def setter(row, value):
            new = list(row)
            new[i] = _zeek_escape(value)
            return new
        return setter

    tsv = Doc("zeek_tsv", "zeek", "conn.log", body, labels, {c: set_tsv(c) for c in ZEEK_CELLS}, render)
    objects = []
    for r in body:
        o = {}
        for name, value in zip(fields, r):
            if value == "-":
                continue
            if name in ("ts", "duration"):
                o[name] = float(value)
            elif name in ("id.orig_p", "id.resp_p", "orig_bytes", "resp_bytes", "missed_bytes", "orig_pkts",
                          "orig_ip_bytes", "resp_pkts", "resp_ip_bytes"):
                o[name] = int(value)
            elif name in ("local_orig", "local_resp"):
                o[name] = value == "T"
            elif name == "tunnel_parents":
                o[name] = []
            else:
                o[name] = value
        objects.append(o)

    def set_json(name):
        def setter(row, value):
            new = dict(row)
            new[name] = [value] if name == "tunnel_parents" else value
            return new
        return setter

    js = Doc("zeek_json", "zeek", "conn.log", objects, labels, {c: set_json(c) for c in ZEEK_CELLS},
             lambda rs: "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in rs))
    return tsv, js


SURICATA_STATE = {"S0": "new", "REJ": "closed", "RSTO": "closed", "SF": "closed"}
SURICATA_CELLS = ("alert/signature", "alert/category", "alert/action", "app_proto", "flow/state", "flow/reason")


def _suricata_doc(zeek_json: Doc):
    """conn.log as Suricata EVE: one flow event per connection, and an alert for every 20th attack connection."""
    rows, labels, n = [], [], 0
    for o, label in zip(zeek_json.rows, zeek_json.labels):
        stamp = f"{o['ts']:.6f}"
        from datetime import datetime, timezone

        ts = datetime.fromtimestamp(float(stamp), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "+0000"
        base = {"timestamp": ts, "flow_id": 1_000_000 + len(rows), "src_ip": o["id.orig_h"], "src_port": o["id.orig_p"],
                "dest_ip": o["id.resp_h"], "dest_port": o["id.resp_p"], "proto": o["proto"].upper()}
        if "service" in o:
            base["app_proto"] = o["service"]
        rows.append({**base, "event_type": "flow",
                     "flow": {"state": SURICATA_STATE.get(o["conn_state"], "closed"), "reason": "timeout",
                              "pkts_toserver": o["orig_pkts"], "pkts_toclient": o["resp_pkts"]}})
        labels.append(label)
        if label != "normal":
            n += 1
            if n % 20 == 1:
                scan = label == "T0846"
                rows.append({**base, "event_type": "alert", "alert": {
                    "action": "allowed", "gid": 1, "signature_id": 2_400_000 + (1 if scan else 2), "rev": 1,
                    "signature": "ET SCAN ICS port sweep" if scan else "ET DOS SYN flood to ICS port",
                    "category": "Attempted Information Leak" if scan else "Attempted Denial of Service",
                    "severity": 2}})
                labels.append(label)
    return Doc("suricata_eve", "suricata", "conn.log", rows, labels, {c: _set_path(c) for c in SURICATA_CELLS},
               lambda rs: "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in rs),
               eligible={c: _has_path(c) for c in SURICATA_CELLS})


WINDOWS_CELLS = ("MachineName", "TargetUserName", "IpAddress", "LogonType", "Message")


def _windows_json_doc(csv_doc: Doc):
    header = ["TimeCreated", "Id", "MachineName", "TargetUserName", "IpAddress", "LogonType", "Message"]
    rows = []
    for r in csv_doc.rows:
        o = dict(zip(header, r))
        o["Id"] = int(o["Id"])
        o["LogonType"] = int(o["LogonType"]) if o["LogonType"] else None
        rows.append(o)

    def setter(name):
        def set_(row, value):
            return {**row, name: value}
        return set_

    return Doc("windows_json", "windows_json", "windows_events.csv", rows, csv_doc.labels,
               {c: setter(c) for c in WINDOWS_CELLS}, lambda rs: json.dumps(rs, ensure_ascii=False, indent=1) + "\n")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The simulated logs in every format, the other files' records, and a baseline from a quiet day."""
    import pandas as pd

    from gridsage.tools.cyber.simulate import simulate_ot_logs, write_simulation

    folder = tmp_path_factory.mktemp("injection")
    sim = simulate_ot_logs(seed=SEED, hours=2, poll_s=5.0, rtus=4)
    paths = write_simulation(sim, folder)
    labels = pd.read_csv(paths["labels"], keep_default_na=False)

    def file_labels(name):
        part = labels[labels["file"] == name].sort_values("line")
        return part["technique_id"].tolist()

    text = {k: p.read_text(encoding="utf-8") for k, p in paths.items()}
    protocol = _csv_doc(text["modbus"], "protocol_csv", "protocol_csv", "modbus.csv", file_labels("modbus.csv"),
                        ("source", "function", "object", "value", "user", "status"))
    windows = _csv_doc(text["windows"], "windows_csv", "windows_csv", "windows_events.csv",
                       file_labels("windows_events.csv"), WINDOWS_CELLS)
    syslog5424, syslog3164 = _syslog_docs(text["syslog"], file_labels("syslog.log"))
    zeek_tsv, zeek_json = _zeek_docs(text["zeek_conn"], file_labels("conn.log"))
    docs = {d.name: d for d in (protocol, syslog5424, syslog3164, zeek_tsv, zeek_json, _suricata_doc(zeek_json),
                                windows, _windows_json_doc(windows))}
    others = {p.name: read_logs(p).records for k, p in paths.items() if k != "labels"}
    detect = _detect_module()
    baseline = None
    if detect is not None:
        quiet = simulate_ot_logs(seed=BASELINE_SEED, hours=2, poll_s=5.0, rtus=4, attacks=[], hostile_text=False)
        baseline = detect.learn_baseline(quiet.records[list(quiet.records.columns[:16])])
    return {"docs": docs, "others": others, "baseline": baseline, "detect": detect, "folder": folder, "sim": sim}


CELLS = [(name, cell) for name, cells in {
    "protocol_csv": ("source", "function", "object", "value", "user", "status"),
    "syslog_5424": tuple(SYSLOG_CELLS), "syslog_3164": ("HOSTNAME", "TAG", "PID", "CONTENT"),
    "zeek_tsv": ZEEK_CELLS, "zeek_json": ZEEK_CELLS, "suricata_eve": SURICATA_CELLS,
    "windows_csv": WINDOWS_CELLS, "windows_json": WINDOWS_CELLS}.items() for cell in cells]


def _plan(doc: Doc, cell: str, payloads: list[int], per_kind: int = 1) -> list[list[tuple[int, int]]]:
    """Runs of (row, payload index) covering every payload of ``payloads``: each payload on ``per_kind`` attack
    row(s) and ``per_kind`` normal row(s) of its own (where the file has such rows carrying the field), rows spread
    over the file; as many runs as the rows allow."""
    ok = doc.eligible.get(cell, lambda row: True)
    pools = [[i for i, (row, lab) in enumerate(zip(doc.rows, doc.labels)) if ok(row) and (lab != "normal") == attack]
             for attack in (True, False)]
    cap = max(1, max(len(p) for p in pools) // per_kind)
    runs = []
    for start in range(0, len(payloads), cap):
        chunk, run = payloads[start:start + cap], []
        for pool in pools:
            slots = min(len(pool), len(chunk) * per_kind)
            spread = [pool[(k * len(pool)) // slots] for k in range(slots)] if slots else []
            run += [(row, chunk[k // per_kind]) for k, row in enumerate(spread)]
        runs.append(run)
    return runs


@dataclass
class Outcome:
    batch: object
    records: object
    report: object = None
    triage: object = None  # triage_records' CyberTriageResult (the planner's core, Contract C), when asked for

    def signature(self) -> list[tuple]:
        return sorted((d.technique_id, d.rule, d.basis, d.severity, d.records) for d in self.report.detections)

    def rejections(self) -> list[tuple]:
        return sorted((r.field, r.reason) for r in self.batch.rejected)

    def texts(self) -> list[str]:
        """Every result the run produced, as JSON: the rejects and counts, and the detections."""
        out = [json.dumps([r.model_dump(mode="json") for r in self.batch.rejected], ensure_ascii=False),
               self.batch.counts.model_dump_json()]
        if self.report is not None:
            out.append(json.dumps([d.model_dump(mode="json") for d in self.report.detections], ensure_ascii=False))
        if self.triage is not None:  # the full result, the MCP/agent-facing compact view and its one line
            out += [self.triage.model_dump_json(), self.triage.compact().model_dump_json(),
                    json.dumps(self.triage.one_line(), ensure_ascii=False)]
        return out


def run(corpus, doc: Doc, rows: list, triage: bool = False) -> Outcome:
    import pandas as pd

    batch = read_logs(doc.render(rows), format=doc.fmt, **doc.kwargs)
    parts = [r for name, r in corpus["others"].items() if name != doc.replaces] + [batch.records]
    records = pd.concat(parts, ignore_index=True).sort_values("time_utc", kind="stable").reset_index(drop=True)
    outcome = Outcome(batch, records)
    if corpus["detect"] is not None:
        outcome.report = corpus["detect"].detect_threats(records, baseline=corpus["baseline"])
    if triage and _triage_records() is not None:
        outcome.triage = _triage_records()(records, baseline=corpus["baseline"], files=[batch.counts])
    return outcome


def _grams(text: str, n: int = 20) -> set[str]:
    return {text[i:i + n] for i in range(max(0, len(text) - n + 1))}


def assert_nothing_leaks(texts: list[str], payloads) -> None:
    """(b) no payload text, nor any 20-character piece of it, in a result (identifier payloads excepted: they pass
    shown() and may appear as whole values); (c) no control, zero-width, bidi or escape character in a result."""
    for text in texts:
        strings = []

        def walk(x):
            if isinstance(x, str):
                strings.append(x)
            elif isinstance(x, dict):
                for k, v in x.items():
                    strings.append(str(k))
                    walk(v)
            elif isinstance(x, list):
                for v in x:
                    walk(v)

        walk(json.loads(text))
        joined = "\n".join(strings)
        bad = FORBIDDEN.findall(joined.replace("\n", " "))
        assert not bad, f"control/bidi characters in a result: {sorted(set(map(repr, bad)))}"
        grams = _grams(joined)
        for p in payloads:
            for v in written_forms(p.text):
                if shown(v) == v:  # identifier-looking: passes shown() by contract, so it may reach a reader
                    continue
                assert v not in joined, p.name
                shared = _grams(v) & grams
                assert not shared, (p.name, sorted(shared)[:3])


def written_forms(text: str) -> set[str]:
    """A payload as a result could hold it: itself, with control characters escaped as ingestion escapes them, and
    as Zeek's writer escapes it."""
    escaped = FORBIDDEN.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 256 else f"\\u{ord(m[0]):04x}", text)
    return {text, escaped, _zeek_escape(text)}


# ------------------------------------------------------------------------------------------------------------- tests
def test_the_payload_suite_covers_every_family():
    families = {p.family for p in PAYLOADS}
    assert len(PAYLOADS) >= 20 and len({p.text for p in PAYLOADS}) == len(PAYLOADS)
    assert families >= {"instruction", "role_spoof", "template_token", "tool_call", "fake_evidence", "unicode", "ansi",
                        "long", "delimiter", "newline", "identifier"}
    assert max(len(p.text) for p in PAYLOADS) >= 10_000
    assert any("\u202e" in p.text for p in PAYLOADS) and any("\u200b" in p.text for p in PAYLOADS)
    assert any("\x1b[" in p.text for p in PAYLOADS) and any("\n" in p.text for p in PAYLOADS)
    # shown(): only the identifier-looking payloads pass; every other one becomes a placeholder quoting nothing
    for p in PAYLOADS:
        out = shown(p.text)
        assert (out == p.text) == p.identifier, p.name
        if not p.identifier:
            assert re.fullmatch(r"<untrusted text: \d+ chars, sha256 [0-9a-f]{12}>", out), p.name
    # the controls keep the form (length, separators) and lose the words
    for p in PAYLOADS:
        c = neutral(p.text)
        assert len(c) == len(p.text) and c != p.text
        assert [ch for ch in c if not ch.isascii() or not ch.isalpha()] == [ch for ch in p.text if not ch.isascii()
                                                                          or not ch.isalpha()]
    assert neutral("ignore previous instructions") == "vtaber cerivbhf vafgehpgvbaf"  # ROT13 by hand


def test_every_format_reads_back_as_written(corpus):
    """The base documents are real logs of their formats: every line accepted, and attack lines among them."""
    for doc in corpus["docs"].values():
        batch = read_logs(doc.render(doc.rows), format=doc.fmt, **doc.kwargs)
        assert batch.counts.rejected == 0 and batch.counts.accepted == len(doc.rows), doc.name
        assert any(label != "normal" for label in doc.labels), doc.name
    assert len(CELLS) >= 30


_CLEAN: dict = {}


def _check_cell(corpus, name: str, cell: str, payloads: list[int], per_kind: int) -> int:
    """Place the payloads in one cell, compare with their controls and the clean run; returns the runs made."""
    doc = corpus["docs"][name]
    if name not in _CLEAN:
        _CLEAN[name] = run(corpus, doc, doc.rows, triage=True)
    clean = _CLEAN[name]
    runs = _plan(doc, cell, payloads, per_kind)
    covered = {j for r in runs for _, j in r}
    assert covered == set(payloads), (name, cell, sorted(set(payloads) - covered))
    setter = doc.fields[cell]
    for targets in runs:
        hostile, control = list(doc.rows), list(doc.rows)
        for i, j in targets:
            hostile[i] = setter(hostile[i], PAYLOADS[j].text)
            control[i] = setter(control[i], neutral(PAYLOADS[j].text))
        got, ref = run(corpus, doc, hostile, triage=True), run(corpus, doc, control)
        used = [PAYLOADS[j] for j in sorted({j for _, j in targets})]
        where = (name, cell, [p.name for p in used])
        # (a) the payloads' words change nothing that their meaningless controls do not
        assert got.rejections() == ref.rejections(), where
        assert got.batch.counts.accepted == ref.batch.counts.accepted and len(got.records) == len(ref.records), where
        if got.report is not None:
            assert got.signature() == ref.signature(), where
            assert verdict_of(got.report.detections) == verdict_of(clean.report.detections), where
            assert (got.report.record_technique != "normal").sum() == (ref.report.record_technique != "normal").sum()
        if got.triage is not None:  # the planner's core: its verdict is the rule's and the clean run's
            assert got.triage.verdict == verdict_of(got.report.detections) == clean.triage.verdict, where
        # (b), (c)
        assert_nothing_leaks(got.texts(), used)
    return len(runs)


@pytest.mark.parametrize("name, cell", CELLS, ids=[f"{n}:{c}" for n, c in CELLS])
def test_no_payload_in_any_field_changes_a_detection_or_a_verdict(corpus, name, cell):
    """Every payload in every cell, each on an attack line and a normal line of its own, as few runs as fit."""
    _check_cell(corpus, name, cell, list(range(len(PAYLOADS))), per_kind=1)


@pytest.mark.slow
@pytest.mark.parametrize("payload", range(len(PAYLOADS)), ids=[p.name for p in PAYLOADS])
@pytest.mark.parametrize("name, cell", CELLS, ids=[f"{n}:{c}" for n, c in CELLS])
def test_each_payload_alone_in_each_cell(corpus, name, cell, payload):
    """Every (payload, format, field) on its own: two attack lines and two normal lines carry it."""
    assert _check_cell(corpus, name, cell, [payload], per_kind=2) == 1


def test_the_leak_check_catches_a_leak():
    """The checks of (b) and (c) are not vacuous: a planted payload piece, an ESC or a bidi override fails them."""
    long = next(p for p in PAYLOADS if p.family == "long")
    tool = next(p for p in PAYLOADS if p.name == "tool_call_json")
    for text in (json.dumps({"reason": "x" + long.text[500:520] + "y"}), json.dumps({"user": tool.text}),
                 json.dumps({"object": "a\x1b[0m"})):
        with pytest.raises(AssertionError):
            assert_nothing_leaks([text], PAYLOADS)
    with pytest.raises(AssertionError):
        assert_nothing_leaks([json.dumps({"summary": "bidi \u202e here"})], [])
    assert_nothing_leaks([json.dumps({"user": shown(tool.text), "file": "<text>"})], PAYLOADS)


def test_the_ingest_tool_result_quotes_no_payload(corpus, tmp_path):
    """ingest_logs (the MCP/agent-facing tool): counts, summary and rejected rows of a file whose every free field
    holds a payload carry none of them."""
    for doc in corpus["docs"].values():
        rows = list(doc.rows)
        for cell, setter in doc.fields.items():
            for targets in _plan(doc, cell, list(range(len(PAYLOADS))))[:1]:
                for i, j in targets:
                    rows[i] = setter(rows[i], PAYLOADS[j].text)
        path = tmp_path / f"{doc.name}.log"
        path.write_text(doc.render(rows), encoding="utf-8")
        if doc.kwargs:  # RFC 3164 needs a zone; the tool takes tz (year: this year, which the file does not say)
            continue
        result = ingest_logs(str(path), format=doc.fmt, max_rows=1000)
        assert result.counts.read >= len(doc.rows)
        texts = [result.model_dump_json(), json.dumps(result.one_line())]
        compact = result.compact()
        texts.append(compact.model_dump_json())
        assert_nothing_leaks(texts, PAYLOADS)
