"""Threat detection on OT/SCADA log records: explicit rules beside baselines, mapped to MITRE ATT&CK for ICS.

:func:`detect_threats` takes records in the shared record contract (:mod:`gridsage.tools.cyber.ingest`) and returns
a :class:`DetectionReport`: the :class:`Detection` s (each with its ATT&CK for ICS technique, tactic and data
sources, the rule that fired, whether a baseline or a rule decided it, a severity, and bounded, :func:`shown`
identifiers of the hosts, functions, objects and accounts), plus a technique id and a detection id per record, so
every log line can be scored against labels.

Baselines (:class:`Baseline`) are learned per source-destination pair and function: which hosts exist, which pairs
talk an ICS protocol, who polls whom (the masters), who commands whom and at which hours, which pairs use
select-before-operate, which objects are written and in which value range, which syslog applications are routine
on which host, which logons are usual.  Two modes:

(a) ``detect_threats(records, baseline=learn_baseline(known_good))``: everything seen in the known-good period is
    established (:data:`KNOWN_GOOD_BINS` = 1 time bin);
(b) ``detect_threats(records)``: the baseline is learned from the batch itself, and a pair, function or host is
    established only when it recurs in at least :data:`SELF_ESTABLISHED_BINS` distinct time bins and in at least
    :data:`SELF_ESTABLISHED_SHARE` of the batch's bins (one bin is 1/24 of the span, between 2.5 min and 1 h): a
    short burst (a scan, a flood, a rogue master, an attacker's session) is never established by its own records.
    A batch spanning fewer bins than that (under 7.5 min) is too short to learn a routine from: everything in it is
    taken as routine, only the explicit rules can fire, and :attr:`DetectionReport.notes` says so.
    A legitimate but occasional master (e.g. a backup master polling a few hours a day) is established only by a
    known-good baseline (mode a).

No log field ever steers the detection's control flow beyond the comparisons below, and no free text (the
``message`` column) is read at all.  Every log-derived string put into a :class:`Detection` passes through
:func:`gridsage.tools.cyber._untrusted.shown`; ``reason`` is a fixed template of numbers and shown identifiers.

Everything is vectorised (numpy/pandas group-bys and sorted searches); no Python loop runs per record, only per
group (detection candidate).
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from gridsage.errors import InputError
from gridsage.tools.cyber._techniques import ATTACK_ICS_VERSION, technique
from gridsage.tools.cyber._untrusted import shown

if TYPE_CHECKING:  # numpy/pandas are imported lazily (import time)
    import numpy
    import pandas

__all__ = ["Baseline", "Detection", "DetectionReport", "detect_threats", "learn_baseline", "RULES", "SEVERITY_RULE"]

# ------------------------------------------------------------------------------------------------------------------
# thresholds (each with its reason)
# ------------------------------------------------------------------------------------------------------------------
#: a baseline learned from known-good traffic: whatever was seen once is established [time bins]
KNOWN_GOOD_BINS = 1
#: a baseline learned from the batch itself: established when seen in at least this many distinct time bins [-];
#: attack bursts (scans, floods, rogue sessions of 5-15 min, an attacker's command session) span 1-2 bins
SELF_ESTABLISHED_BINS = 3
#: ... and in at least this share of the batch's bins, so that in a short batch (1 h: 150 s bins) a 15-min
#: burst is not established either [-]
SELF_ESTABLISHED_SHARE = 0.5
#: time bin of the baselines: span / BINS_PER_SPAN, clipped to [MIN_BIN_S, MAX_BIN_S] [-], [s], [s]
BINS_PER_SPAN, MIN_BIN_S, MAX_BIN_S = 24, 150.0, 3600.0
#: the ICS protocols whose records make a pair, a master or a command
ICS_PROTOCOLS = ("modbus", "dnp3", "iec104", "mms")
#: statuses that mean an unanswered request (a poll timing out)
TIMEOUT_STATUSES = ("timeout", "no_response", "noresponse", "unanswered")
#: Zeek conn_state values of half-open / unanswered connection attempts (Zeek conn.log documentation)
HALF_OPEN_STATES = ("S0", "REJ", "RSTOS0", "RSTRH", "SH", "SHR", "OTH")
#: scanning: one source reaches at least this many distinct destinations, or (destination, port) pairs, within one
#: burst (gap <= SCAN_GAP_S); a SCADA master polls a fixed set, an NTP client one server [-], [-], [s]
SCAN_MIN_DESTINATIONS, SCAN_MIN_SERVICES, SCAN_GAP_S = 10, 20, 300.0
#: share of failed (S0/REJ/...) attempts a scan burst has at least [-]
SCAN_MIN_FAILED_SHARE = 0.5
#: after a scan, the scanner's device-identification reads and unestablished ICS records within this span belong
#: to the same discovery [s]
SCAN_TAIL_S = 1800.0
#: device-identification requests (Modbus 43/MEI 14, DNP3 group 0 device attributes, MMS identify/getNameList)
IDENTIFY_FUNCTIONS = {("modbus", "43"), ("mms", "identify"), ("mms", "getNameList"), ("mms", "getnamelist"),
                      ("mms", "getVariableAccessAttributes")}
#: connection flood: at least this many half-open attempts from one source to one destination in one burst
#: (gap <= FLOOD_GAP_S) at FLOOD_MIN_RATE or more (a scan reaches each address only a few times) [-], [s], [1/s]
FLOOD_MIN_CONNECTIONS, FLOOD_GAP_S, FLOOD_MIN_RATE = 100, 30.0, 1.0
#: unanswered polls of one master to one outstation form one outage when less than this apart [s]
OUTAGE_GAP_S = 120.0
#: an outage counts with at least this many unanswered polls spanning at least OUTAGE_MIN_S [-], [s]
OUTAGE_MIN_RECORDS, OUTAGE_MIN_S = 3, 20.0
#: a link_down of the outstation within this margin of an outage explains it (a routine link flap) [s]
LINK_MARGIN_S = 60.0
#: a flood to the outstation that started up to this long before the outage (or during it) explains it [s]
FLOOD_MARGIN_S = 300.0
#: outages of different outstations starting within this span are one denial of view [s]
DENIAL_CLUSTER_S = 90.0
#: syslog lines of the master or the outstation during an outage (and this long after its last timeout) belong
#: to it, unless their application is routine on that host [s]
OUTAGE_TAIL_S = 40.0
#: a syslog application is routine on a host when it logs in at least this share of the baseline's bins [-]
ROUTINE_APP_SHARE = 0.5
#: commands, writes or downloads of one source to one destination less than this apart form one session [s]
SESSION_GAP_S = 600.0
#: connection records of the acting source to the target up to this long before a session belong to it [s]
CONN_LEAD_S = 120.0
#: records after a program download that belong to it (restart, PLC syslog lines) [s]
DOWNLOAD_TAIL_S = 120.0
#: an operate without a select from the same source to the same destination in this span, where the pair uses
#: select-before-operate, is unusual (IEC 61850-7-2 clause 20; IEEE 1815 SELECT/OPERATE) [s]
SBO_WINDOW_S = 60.0
#: hours of day around the source's usual command span (the shortest circular span of hours covering its
#: commands, e.g. a day shift) still counted usual [h]; needs COMMAND_HOURS_MIN_COMMANDS
#: commands of the source in the baseline to judge hours at all (about a week of operator commands: a
#: single day's dozen commands under-covers a shift) [-]
COMMAND_HOUR_MARGIN_H, COMMAND_HOURS_MIN_COMMANDS = 1, 30
#: an interactive logon (any host) within this span before a write session counts as its preceding logon [s]
LOGON_WINDOW_S = 1800.0
#: a machine is where a writer's engineers log on when an interactive logon on it preceded at least this share of
#: the writer's (other) write sessions; a logon elsewhere (e.g. an operator's shift logon) does not vouch [-]
ROUTINE_LOGON_SHARE = 0.5
#: Windows logon types that are interactive: 2 console, 10 remote interactive, 11 cached interactive
INTERACTIVE_LOGON_TYPES = ("2", "10", "11")
#: a written value outside [min - m, max + m] of the baseline, m = max(VALUE_MARGIN_SPAN * (max - min),
#: VALUE_MARGIN_REL * max(|min|, |max|)), is out of range; from the batch itself (mode b) the test is
#: |v - median| > VALUE_SELF_REL * |median| with at least VALUE_SELF_MIN values [-]
VALUE_MARGIN_SPAN, VALUE_MARGIN_REL, VALUE_SELF_REL, VALUE_SELF_MIN = 0.1, 0.05, 0.15, 5
#: brute force: at least this many failed logons of one account from one source, each less than BRUTE_GAP_S
#: apart; a success of that source within BRUTE_SUCCESS_S after the last failure belongs to it [-], [s], [s]
BRUTE_MIN_FAILURES, BRUTE_GAP_S, BRUTE_SUCCESS_S = 10, 300.0, 1800.0
#: rogue master: at least this many ICS records between a pair never established, in one burst [-]
ROGUE_MIN_RECORDS = 10
#: addresses that are the logging host itself (local logons)
LOCAL_SOURCES = ("127.0.0.1", "::1", "-", "localhost", "LOCAL")
#: at most this many items in a Detection's lists (destinations, functions/objects/users, lines)
MAX_DESTINATIONS, MAX_ITEMS, MAX_LINES = 20, 10, 10

#: rule id -> (technique id, basis, severity, what it means)
RULES: dict[str, tuple[str, str, str, str]] = {
    "network_scan": ("T0846", "rule+baseline", "medium",
                     "one source reaches many addresses or ports, mostly failing, and identifies devices"),
    "device_identification": ("T0846", "rule+baseline", "low",
                              "device-identification requests from a source that is not an established master"),
    "command_from_unusual_master": ("T0855", "baseline", "high",
                                    "commands from a source that neither polls nor commands the outstation"),
    "command_at_unusual_hour": ("T0855", "baseline", "medium",
                                "commands from an established master outside its usual hours"),
    "operate_without_select": ("T0855", "rule+baseline", "high",
                               "operate without the select the pair always uses"),
    "parameter_change": ("T0836", "rule+baseline", "high",
                         "writes to a new object, outside the baseline range, or with no interactive logon before"),
    "program_download": ("T0843", "rule", "critical",
                         "program, logic, configuration or firmware download, file transfer or restart"),
    "configuration_change": ("T0843", "rule", "medium", "a device reports a configuration or program change"),
    "connection_flood": ("T0814", "rule", "high",
                         "half-open connection flood and the outstation's unanswered polls that follow"),
    "denial_of_view": ("T0815", "rule", "high",
                       "several outstations stop answering together, with no link-down and no flood"),
    "outstation_silent": ("T0815", "rule", "medium",
                          "one outstation stops answering with no link-down and no flood"),
    "brute_force_logon": ("T0859", "rule", "high", "many failed logons of an account, then a success"),
    "brute_force_attempt": ("T0859", "rule", "medium", "many failed logons of an account, no success"),
    "unusual_logon": ("T0859", "baseline", "medium", "a logon from a source never seen on the network"),
    "rogue_master": ("T0848", "baseline", "high", "a host never established talks an ICS protocol to an outstation"),
}
#: the severity rule, as documented in :func:`detect_threats`
SEVERITY_RULE = ("critical: program/firmware download; high: unauthorised commands, parameter changes, denial of "
                 "service or view of several outstations, brute force with a success, rogue master; medium: "
                 "discovery scans, one silent outstation, a command at an unusual hour, a configuration-change "
                 "report, failed brute force, an unusual logon; low: device identification alone.  A T0855 "
                 "detection reaching 3 or more outstations is raised to critical.")


# ------------------------------------------------------------------------------------------------------------------
# models
# ------------------------------------------------------------------------------------------------------------------

class Detection(BaseModel):
    """One detection: a group of log records that one rule attributes to one ATT&CK for ICS technique.

    Every string taken from a log is :func:`~gridsage.tools.cyber._untrusted.shown` (identifiers pass, other text
    becomes a placeholder with its length and digest); lists are bounded; ``reason`` is a fixed template of
    numbers and shown identifiers and never holds the log's ``message``.
    """

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="'CY1', 'CY2', ... numbered in order of first_utc.")
    technique_id: str = Field(description=f"ATT&CK for ICS v{ATTACK_ICS_VERSION} technique id, e.g. 'T0855'.")
    technique: str = Field(description="The technique's name.")
    tactics: list[str]
    data_sources: list[str]
    rule: str = Field(description="Fixed snake_case rule id (keys of RULES).")
    basis: Literal["rule", "baseline", "rule+baseline"]
    severity: Literal["low", "medium", "high", "critical"]
    source: str | None = Field(description="Acting host (shown), None when there is none (denial of view).")
    destinations: list[str] = Field(description="Target hosts (shown), at most 20.")
    destinations_omitted: int = Field(description="Targets beyond the 20 listed [-].")
    protocol: str | None = Field(description="Protocol of most records (shown).")
    functions: list[str] = Field(description="Distinct functions (shown), at most 10.")
    objects: list[str] = Field(description="Distinct objects (shown), at most 10.")
    users: list[str] = Field(description="Distinct accounts (shown), at most 10.")
    first_utc: datetime
    last_utc: datetime
    records: int = Field(description="Log records in this detection [-].")
    lines: list[str] = Field(description="At most 10 'file:line' (shown).")
    reason: str = Field(description="Fixed template: numbers and shown identifiers only.")
    confidence: float = Field(description="How sure the rule is, 0-1 [-]: 0.9 rule, 0.8 rule+baseline, "
                                          "0.7 baseline only.")


@dataclass
class Baseline:
    """What normal looks like, learned per host, pair, function, object, application and logon.

    Attributes
    ----------
    bin_s : float
        Time bin [s] the counts below are in.
    bins : int
        Distinct bins the learning records covered [-].
    established_bins : int
        A key counts as established when seen in at least this many bins [-] (1 from known-good traffic; from
        the batch itself max(3, ceil(0.5 bins))).
    hosts : dict
        host -> bins it appears in (as source or destination).
    pairs : dict
        'a|b' (unordered, sorted) -> bins with ICS-protocol records between a and b.
    polls : dict
        'source|destination' -> bins with reads/polls (kind read or other) of an ICS protocol.
    commands : dict
        'source|destination' -> bins with commands (operate/command/select, Modbus coil writes).
    command_hours : dict
        source -> 24 counts of commands per UTC hour of day.
    selects : dict
        'source|destination' -> select records seen.
    writes : dict
        'protocol|function|object' -> [n, min, max, median] of the numeric values written (NaN when none).
    writers : dict
        source -> bins with parameter writes.
    apps : dict
        'host|application' -> bins with syslog lines of that application.
    logons : dict
        'source|destination' -> bins with successful logons.
    write_logons : dict
        writer -> ``{'sessions': n, 'machines': {machine: k}}``: of the writer's n write sessions, k had an
        interactive logon on that machine within :data:`LOGON_WINDOW_S` before.
    """

    bin_s: float = 3600.0
    bins: int = 0
    established_bins: int = KNOWN_GOOD_BINS
    hosts: dict = dc_field(default_factory=dict)
    pairs: dict = dc_field(default_factory=dict)
    polls: dict = dc_field(default_factory=dict)
    commands: dict = dc_field(default_factory=dict)
    command_hours: dict = dc_field(default_factory=dict)
    selects: dict = dc_field(default_factory=dict)
    writes: dict = dc_field(default_factory=dict)
    writers: dict = dc_field(default_factory=dict)
    apps: dict = dc_field(default_factory=dict)
    logons: dict = dc_field(default_factory=dict)
    write_logons: dict = dc_field(default_factory=dict)

    _FIELDS = ("bin_s", "bins", "established_bins", "hosts", "pairs", "polls", "commands", "command_hours",
               "selects", "writes", "writers", "apps", "logons", "write_logons")

    def to_dict(self) -> dict:
        """The baseline as JSON-serialisable data (``json.dumps`` works on it).

        Returns
        -------
        dict
        """
        import math

        out = {}
        for name in self._FIELDS:
            value = getattr(self, name)
            if name == "writes":
                value = {k: [None if (isinstance(x, float) and math.isnan(x)) else x for x in v]
                         for k, v in value.items()}
            out[name] = value
        out["version"] = 1
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "Baseline":
        """A baseline from :meth:`to_dict`'s data.

        Parameters
        ----------
        data : dict
            As :meth:`to_dict` returns it (e.g. after a JSON round trip).

        Returns
        -------
        Baseline

        Raises
        ------
        InputError
            If ``data`` is not a mapping with the baseline's fields of the right types.
        """
        if not isinstance(data, dict):
            raise InputError("the baseline is not a JSON object", field="baseline",
                             fix="give the dict Baseline.to_dict() returned.")
        kwargs = {}
        for name in cls._FIELDS:
            if name not in data:
                raise InputError(f"the baseline lacks its field {name!r}", field=f"baseline.{name}",
                                 fix="give the dict Baseline.to_dict() returned, unchanged.")
            value = data[name]
            if name in ("bin_s",):
                ok = isinstance(value, (int, float)) and value > 0
            elif name in ("bins", "established_bins"):
                ok = isinstance(value, int) and value >= 0
            else:
                ok = isinstance(value, dict)
            if not ok:
                raise InputError(f"the baseline's field {name!r} has the wrong type", field=f"baseline.{name}",
                                 fix="give the dict Baseline.to_dict() returned, unchanged.")
            if name == "writes":
                value = {str(k): [float("nan") if x is None else float(x) for x in v] for k, v in value.items()}
            kwargs[name] = value
        return cls(**kwargs)

    # queries --------------------------------------------------------------------------------------------------
    def established(self, table: str, key: str) -> bool:
        """Whether a key of one of the baseline's tables is established.

        Parameters
        ----------
        table : str
            A table attribute, e.g. ``'polls'``, ``'pairs'``, ``'hosts'``.
        key : str
            Its key, e.g. ``'10.0.0.1|10.0.0.2'``.

        Returns
        -------
        bool
            True when the key was seen in at least :attr:`established_bins` time bins.
        """
        return getattr(self, table).get(key, 0) >= self.established_bins


@dataclass
class DetectionReport:
    """What :func:`detect_threats` found.

    Attributes
    ----------
    detections : list of Detection
        All detections, ordered by ``first_utc`` (ids CY1, CY2, ... in that order).
    record_technique : numpy.ndarray of str, shape (n,)
        Per record (same order as the input): the technique id of its detection, or ``'normal'``.
    record_detection : numpy.ndarray of str, shape (n,)
        Per record: the id of its detection, or ``''``.
    baseline : Baseline
        The baseline used (learned from the batch itself when none was given).
    notes : list of str
        What the detection could not do, e.g. learn a routine from a batch too short for one.
    """

    detections: list[Detection]
    record_technique: "numpy.ndarray"
    record_detection: "numpy.ndarray"
    baseline: Baseline
    notes: list[str] = dc_field(default_factory=list)


# ------------------------------------------------------------------------------------------------------------------
# preparation (vectorised)
# ------------------------------------------------------------------------------------------------------------------

_REQUIRED = ("time_utc", "source", "destination", "protocol", "kind", "function", "object", "value", "user",
             "status")


class _Frame:
    """The columns the rules use, as numpy arrays in time order, with integer codes for hosts."""

    def __init__(self, records: "pandas.DataFrame"):
        import numpy as np
        import pandas as pd

        if not isinstance(records, pd.DataFrame):
            raise InputError("records must be a pandas DataFrame in the record contract", field="records",
                             fix="pass LogBatch.records from read_logs().")
        missing = [c for c in _REQUIRED if c not in records.columns]
        if missing:
            raise InputError(f"records lack the column(s) {', '.join(missing)}", field="records",
                             fix="pass LogBatch.records from read_logs() (the shared record contract).")
        n = len(records)
        self.n = n
        t = pd.to_datetime(records["time_utc"], utc=True)
        tv = t.to_numpy(dtype="datetime64[ns]").astype(np.int64) if n else np.zeros(0, np.int64)
        self.order = np.argsort(tv, kind="stable")
        o = self.order
        self.t_ns = tv[o]
        self.t = self.t_ns / 1e9  # [s]

        def col(name):
            if name not in records.columns:
                return np.full(n, None, dtype=object)[o]
            return records[name].to_numpy(dtype=object)[o]

        self.source = col("source")
        self.destination = col("destination")
        self.protocol = col("protocol")
        self.kind = col("kind")
        self.function = col("function")
        self.object = col("object")
        self.value = col("value")
        self.user = col("user")
        self.status = col("status")
        self.file = col("file")
        self.line = col("line")
        if "destination_port" in records.columns:
            self.dport = records["destination_port"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)[o]
        else:
            self.dport = np.full(n, np.nan)
        hosts = np.concatenate([self.source, self.destination])
        codes, uniques = pd.factorize(hosts, use_na_sentinel=True)
        self.src_code = codes[:n]
        self.dst_code = codes[n:]
        self.hosts = np.asarray(uniques, dtype=object)
        self._cats = {}
        proto_ = self.cat("protocol")
        kind_ = self.cat("kind")
        fn_ = self.cat("function")
        obj_ = self.cat("object")
        self.is_ics = self.where("protocol", lambda v: v in ICS_PROTOCOLS)
        self.is_conn = self.where("kind", lambda v: v == "connection")
        self.is_syslog = self.where("protocol", lambda v: v == "syslog")
        del proto_, kind_, fn_, obj_
        dnp3 = self.where("protocol", lambda v: v == "dnp3")
        modbus_coil = self.where("protocol", lambda v: v == "modbus") & self.where("function",
                                                                                    lambda v: v in ("5", "15"))
        dnp3_analog = dnp3 & self.where("object", lambda v: isinstance(v, str) and v.startswith(("g41", "g42")))
        dnp3_file = dnp3 & self.where("object", lambda v: isinstance(v, str) and v.startswith("g70"))
        kind_is = {k: self.where("kind", lambda v, k=k: v == k)
                   for k in ("program_download", "firmware", "restart", "operate", "command", "select", "write",
                             "read", "other", "login_success", "login_failure", "link_down", "config_change")}
        self.kind_is = kind_is
        self.is_download = kind_is["program_download"] | kind_is["firmware"] | (self.is_ics & dnp3_file)
        self.is_restart_cmd = self.is_ics & kind_is["restart"]
        operate = kind_is["operate"] | kind_is["command"]
        self.is_command = self.is_ics & (((operate | kind_is["select"]) & ~dnp3_analog)
                                         | (kind_is["write"] & modbus_coil)) & ~self.is_download
        self.is_select = self.is_ics & kind_is["select"]
        self.is_operate = operate
        self.is_write = self.is_ics & ((kind_is["write"] & ~modbus_coil & ~dnp3_file) | (operate & dnp3_analog))
        self.is_poll = self.is_ics & (kind_is["read"] | kind_is["other"])
        ident = self.where("function", lambda v: v in {f for _, f in IDENTIFY_FUNCTIONS})
        if ident.any():
            ident &= _pair_in(self.protocol, self.function, IDENTIFY_FUNCTIONS)
        self.is_identify = self.is_ics & (ident | (dnp3 & kind_is["read"]
                                                   & self.where("object", lambda v: isinstance(v, str)
                                                                and v.startswith("g0v"))))
        self.is_timeout = self.where("status", lambda v: isinstance(v, str) and v.lower() in TIMEOUT_STATUSES)
        self.is_half_open = self.is_conn & self.where("function", lambda v: v in HALF_OPEN_STATES)
        self.is_failed_conn = self.is_conn & (self.is_half_open | self.where("status", lambda v: v == "failure"))

    def cat(self, name):
        """Codes and unique values of a text column (pandas.factorize; -1 for missing)."""
        import pandas as pd

        if name not in self._cats:
            codes, uniques = pd.factorize(getattr(self, name), use_na_sentinel=True)
            self._cats[name] = (codes, list(uniques))
        return self._cats[name]

    def where(self, name, predicate):
        """Per record: ``predicate(value)`` of a text column, evaluated once per distinct value (False if missing)."""
        import numpy as np

        codes, uniques = self.cat(name)
        hit = np.fromiter((bool(predicate(u)) for u in uniques), dtype=bool, count=len(uniques))
        return np.append(hit, False)[codes]  # code -1 (missing) takes the appended False

    def text(self, name, idx):
        """A text column at positions idx as str ('' when missing)."""
        import numpy as np

        codes, uniques = self.cat(name)
        u = np.array([str(x) for x in uniques] + [""], dtype=object)
        return u[codes[idx]]

    def numeric(self, idx):
        """``value`` at positions idx as float (NaN when not a number)."""
        import pandas as pd

        return pd.to_numeric(pd.Series(self.value[idx], dtype=object), errors="coerce").to_numpy(dtype=float)


def _pair_in(protocol, function, pairs):
    import numpy as np

    out = np.zeros(len(protocol), dtype=bool)
    for p, f in pairs:
        out |= (protocol == p) & (function == f)
    return out


def _bins_of(t, bin_s):
    import numpy as np

    return np.floor(t / bin_s).astype(np.int64)


def _count_bins(keys, bins) -> dict:
    """key -> distinct bins it occurs in (keys: str array)."""
    import pandas as pd

    if len(keys) == 0:
        return {}
    df = pd.DataFrame({"k": keys, "b": bins}).drop_duplicates()
    return {str(k): int(v) for k, v in df.groupby("k", sort=False).size().items()}


def _pair_key(a, b):
    import numpy as np

    a = np.asarray(a, dtype=object).astype(str)
    b = np.asarray(b, dtype=object).astype(str)
    return np.char.add(np.char.add(a, "|"), b)


def _learn(f: _Frame, established_bins: int) -> Baseline:
    import numpy as np
    import pandas as pd

    if f.n == 0:
        return Baseline(established_bins=established_bins)
    span = float(f.t[-1] - f.t[0])
    bin_s = float(np.clip(span / BINS_PER_SPAN, MIN_BIN_S, MAX_BIN_S))
    b = _bins_of(f.t, bin_s)
    bins = int(len(np.unique(b)))
    if established_bins > KNOWN_GOOD_BINS:  # self mode: recurrence over the batch, not just a few bins of it
        established_bins = max(established_bins, int(np.ceil(SELF_ESTABLISHED_SHARE * bins)))
        if bins < established_bins:  # too short to tell a routine from a burst: what is there counts as routine
            established_bins = KNOWN_GOOD_BINS
    base = Baseline(bin_s=bin_s, bins=bins, established_bins=established_bins)
    # hosts (either end): distinct bins per host code
    codes = np.concatenate([f.src_code, f.dst_code])
    bb = np.concatenate([b, b])
    ok = codes >= 0
    hb = pd.DataFrame({"h": codes[ok], "b": bb[ok]}).drop_duplicates().groupby("h").size()
    base.hosts = {str(f.hosts[h]): int(v) for h, v in hb.items()}
    # ICS pairs (unordered), polls, commands, selects, writers
    m = f.is_ics & (f.src_code >= 0) & (f.dst_code >= 0)
    if m.any():
        lo = np.minimum(f.src_code[m], f.dst_code[m])
        hi = np.maximum(f.src_code[m], f.dst_code[m])
        pb = pd.DataFrame({"a": lo, "c": hi, "b": b[m]}).drop_duplicates().groupby(["a", "c"]).size()
        base.pairs = {f"{f.hosts[a]}|{f.hosts[c]}": int(v) for (a, c), v in pb.items()}
    for table, mask in (("polls", f.is_poll), ("commands", f.is_command)):
        mm = mask & (f.src_code >= 0) & (f.dst_code >= 0)
        if mm.any():
            pb = pd.DataFrame({"a": f.src_code[mm], "c": f.dst_code[mm], "b": b[mm]}).drop_duplicates() \
                .groupby(["a", "c"]).size()
            setattr(base, table, {f"{f.hosts[a]}|{f.hosts[c]}": int(v) for (a, c), v in pb.items()})
    mm = f.is_command & (f.src_code >= 0)
    if mm.any():
        hours = (np.floor(f.t[mm] / 3600) % 24).astype(int)
        ch = pd.crosstab(f.src_code[mm], hours)
        base.command_hours = {str(f.hosts[s]): [int(ch.loc[s].get(h, 0)) for h in range(24)] for s in ch.index}
    mm = f.is_select & (f.src_code >= 0) & (f.dst_code >= 0)
    if mm.any():
        sc = pd.DataFrame({"a": f.src_code[mm], "c": f.dst_code[mm]}).groupby(["a", "c"]).size()
        base.selects = {f"{f.hosts[a]}|{f.hosts[c]}": int(v) for (a, c), v in sc.items()}
    mm = f.is_write & (f.src_code >= 0)
    if mm.any():
        wb = pd.DataFrame({"a": f.src_code[mm], "b": b[mm]}).drop_duplicates().groupby("a").size()
        base.writers = {str(f.hosts[a]): int(v) for a, v in wb.items()}
        key = _write_key(f, mm)
        g = pd.DataFrame({"k": key, "v": f.numeric(np.flatnonzero(mm))}).groupby("k")["v"]
        agg = pd.DataFrame({"n": g.count(), "min": g.min(), "max": g.max(), "median": g.median()})
        base.writes = {str(k): [float(r["n"]), float(r["min"]), float(r["max"]), float(r["median"])]
                       for k, r in agg.iterrows()}
        base.write_logons = _learn_write_logons(f, mm)
    mm = f.is_syslog & (f.src_code >= 0)
    if mm.any():
        base.apps = _count_bins(_pair_key(f.source[mm], f.function[mm]), b[mm])
    mm = f.kind_is["login_success"] & (f.src_code >= 0)
    if mm.any():
        base.logons = _count_bins(_pair_key(f.source[mm], f.destination[mm]), b[mm])
    return base


def _write_key(f: _Frame, mask):
    """'protocol|function|object' per write (mask: bool mask or positions)."""
    import numpy as np

    idx = np.flatnonzero(mask) if np.asarray(mask).dtype == bool else np.asarray(mask)
    parts = [f.text("protocol", idx), f.text("function", idx), f.text("object", idx)]
    return np.array(["|".join(x) for x in zip(*parts)], dtype=object)


def learn_baseline(records: "pandas.DataFrame") -> Baseline:
    """Learn what normal looks like from known-good traffic (a quiet period's logs).

    Parameters
    ----------
    records : pandas.DataFrame
        Known-good log records in the shared record contract (``LogBatch.records``), shape (n, >= 10).

    Returns
    -------
    Baseline
        Per host, pair (unordered), poll and command direction, select use, written object and value range,
        syslog application per host and logon source; everything seen at least once is established
        (:data:`KNOWN_GOOD_BINS`).  JSON-serialisable by :meth:`Baseline.to_dict`.

    Raises
    ------
    InputError
        If ``records`` is not a DataFrame with the record contract's columns.

    Notes
    -----
    Counts are distinct time bins of ``clip(span / 24, 150 s, 3600 s)``: a key's bins say how steadily it recurs.
    Value ranges are over the numeric values written per protocol, function and object.

    References
    ----------
    .. [1] NIST SP 800-82r3 (2023), Guide to Operational Technology Security, clause 6.2.6 (security continuous
       monitoring: baselines of normal OT network behaviour).
    """
    return _learn(_Frame(records), KNOWN_GOOD_BINS)


# ------------------------------------------------------------------------------------------------------------------
# rules: each returns a list of (rule, member positions (sorted-frame), source, extra numbers for the reason)
# ------------------------------------------------------------------------------------------------------------------

def _bursts(t, key, gap_s):
    """Burst id per element: a new burst when the key changes or the time gap exceeds gap_s (t sorted within key)."""
    import numpy as np

    if len(t) == 0:
        return np.zeros(0, np.int64)
    order = np.lexsort((t, key))
    ks, ts = key[order], t[order]
    new = np.ones(len(ts), bool)
    new[1:] = (ks[1:] != ks[:-1]) | (np.diff(ts) > gap_s)
    bid_sorted = np.cumsum(new) - 1
    out = np.empty(len(t), np.int64)
    out[order] = bid_sorted
    return out


def _groups(idx, bid):
    """Split positions idx by burst id -> list of position arrays (sorted)."""
    import numpy as np

    if len(idx) == 0:
        return []
    order = np.argsort(bid, kind="stable")
    idx, bid = idx[order], bid[order]
    cuts = np.flatnonzero(np.diff(bid)) + 1
    return np.split(idx, cuts)


def _est_pairs(f: _Frame, table: dict, baseline: Baseline):
    """Set of (a_code, b_code) established in ``table`` (only pairs of hosts present in the batch)."""
    out = set()
    index = {h: i for i, h in enumerate(f.hosts)}
    for key, v in table.items():
        if v >= baseline.established_bins:
            a, _, b = key.partition("|")
            if a in index and b in index:
                out.add((index[a], index[b]))
    return out


def _in_set(a, b, pairs):
    import numpy as np

    if len(a) == 0 or not pairs:
        return np.zeros(len(a), bool)
    want = np.array([x * 1_000_003 + y for x, y in pairs], dtype=np.int64)
    return np.isin(np.asarray(a, dtype=np.int64) * 1_000_003 + np.asarray(b, dtype=np.int64), want)


class _Ctx:
    def __init__(self, f: _Frame, baseline: Baseline):
        import numpy as np

        self.f, self.b = f, baseline
        self.claimed = np.zeros(f.n, bool)
        self.found: list[tuple[str, "numpy.ndarray", int, dict]] = []  # rule, positions, source code, numbers
        self.polls = _est_pairs(f, baseline.polls, baseline)
        self.commands = _est_pairs(f, baseline.commands, baseline)
        self.known_hosts = {i for i, h in enumerate(f.hosts) if baseline.hosts.get(str(h), 0) >= baseline.established_bins}
        self.masters = self.polls | self.commands | {(b_, a) for a, b_ in self.polls}

    def add(self, rule, pos, src, **numbers):
        import numpy as np

        pos = np.unique(np.asarray(pos, dtype=np.int64))
        pos = pos[~self.claimed[pos]]
        if len(pos) == 0:
            return
        self.claimed[pos] = True
        self.found.append((rule, pos, src, numbers))

    def attach(self, pos, mask, t0, t1):
        """Unclaimed positions of ``mask`` within [t0, t1] (sorted time)."""
        import numpy as np

        f = self.f
        lo, hi = np.searchsorted(f.t, t0, "left"), np.searchsorted(f.t, t1, "right")
        cand = np.arange(lo, hi)
        cand = cand[mask[lo:hi] & ~self.claimed[lo:hi]]
        return np.concatenate([pos, cand])

    def conn_before(self, pos, src, dsts, t0, t1):
        """Connection records of src to any of dsts within [t0 - CONN_LEAD_S, t1] (either direction)."""
        import numpy as np

        f = self.f
        lo, hi = np.searchsorted(f.t, t0 - CONN_LEAD_S, "left"), np.searchsorted(f.t, t1, "right")
        sl = slice(lo, hi)
        m = f.is_conn[sl] & ~self.claimed[sl] & (
            ((f.src_code[sl] == src) & np.isin(f.dst_code[sl], dsts))
            | ((f.dst_code[sl] == src) & np.isin(f.src_code[sl], dsts)))
        return np.concatenate([pos, lo + np.flatnonzero(m)])


def _rule_download(c: _Ctx):
    import numpy as np

    f = c.f
    m = (f.is_download | f.is_restart_cmd) & ~c.claimed
    idx = np.flatnonzero(m)
    if len(idx) == 0:
        return
    key = f.src_code[idx].astype(np.int64) * 1_000_003 + f.dst_code[idx]
    for g in _groups(idx, _bursts(f.t[idx], key, SESSION_GAP_S)):
        if not f.is_download[g].any():
            continue  # a restart command alone is not a download
        src, dst = int(f.src_code[g[0]]), int(f.dst_code[g[0]])
        t0, t1 = f.t[g[0]], f.t[g[-1]]
        pos = c.conn_before(g, src, [dst], t0, t1)
        # the device's own reports right after (restart, configuration change, mode change), not routine apps
        pos = c.attach(pos, _device_lines(c, dst), t0, t1 + DOWNLOAD_TAIL_S)
        c.add("program_download", pos, src, blocks=int(f.is_download[g].sum()))


def _routine_app_mask(c: _Ctx):
    """Per record: syslog line whose application is routine on its host (by the baseline)."""
    import numpy as np

    f, b = c.f, c.b
    if not hasattr(c, "_routine"):
        need = max(b.established_bins, int(np.ceil(ROUTINE_APP_SHARE * max(b.bins, 1))))
        routine = {k for k, v in b.apps.items() if v >= need}
        m = np.zeros(f.n, bool)
        idx = np.flatnonzero(f.is_syslog)
        if len(idx):
            keys = _pair_key(f.source[idx], f.function[idx])
            m[idx] = np.isin(keys, list(routine)) if routine else False
        c._routine = m
    return c._routine


def _device_lines(c: _Ctx, host_code):
    f = c.f
    return f.is_syslog & (f.src_code == host_code) & ~_routine_app_mask(c)


def _rule_commands(c: _Ctx):
    import numpy as np

    f, b = c.f, c.b
    idx = np.flatnonzero(f.is_command & ~c.claimed)
    if len(idx) == 0:
        return
    src, dst = f.src_code[idx], f.dst_code[idx]
    est = _in_set(src, dst, c.masters)
    # operate without select where the pair uses select-before-operate
    sbo = _est_pairs(f, b.selects, b)
    is_op = f.is_operate[idx]
    uses_sbo = _in_set(src, dst, sbo) & is_op
    no_select = np.zeros(len(idx), bool)
    if uses_sbo.any():
        sel = np.flatnonzero(f.is_select)
        sel_key = f.src_code[sel].astype(np.int64) * 1_000_003 + f.dst_code[sel]
        for j in np.flatnonzero(uses_sbo):
            k = int(src[j]) * 1_000_003 + int(dst[j])
            ts = f.t[sel[sel_key == k]]
            no_select[j] = not ((ts <= f.t[idx[j]]) & (ts >= f.t[idx[j]] - SBO_WINDOW_S)).any()
    # unusual hour for an established commander (only from a known-good baseline with enough commands)
    odd_hour = np.zeros(len(idx), bool)
    if b.established_bins <= KNOWN_GOOD_BINS:
        hours = (np.floor(f.t[idx] / 3600) % 24).astype(int)
        for s in np.unique(src[est]):
            counts = np.asarray(b.command_hours.get(str(f.hosts[s]), [0] * 24))
            if counts.sum() < COMMAND_HOURS_MIN_COMMANDS:
                continue
            usual = _usual_hours(counts > 0, COMMAND_HOUR_MARGIN_H)
            sel_ = est & (src == s)
            odd_hour[sel_] = ~usual[hours[sel_]]
    for rule, mask in (("command_from_unusual_master", ~est), ("operate_without_select", est & no_select),
                       ("command_at_unusual_hour", est & ~no_select & odd_hour)):
        sub = idx[mask]
        if len(sub) == 0:
            continue
        for g in _groups(sub, _bursts(f.t[sub], f.src_code[sub].astype(np.int64), SESSION_GAP_S)):
            s = int(f.src_code[g[0]])
            dsts = np.unique(f.dst_code[g])
            pos = c.conn_before(g, s, dsts, f.t[g[0]], f.t[g[-1]])
            c.add(rule, pos, s, commands=len(g), outstations=len(dsts))


def _usual_hours(seen, margin_h):
    """Hours of day inside the shortest circular span covering every seen hour, widened by margin_h [-]."""
    import numpy as np

    hours = np.flatnonzero(seen)
    usual = np.zeros(24, bool)
    if len(hours) == 0:
        return usual
    # the largest circular gap between consecutive seen hours is the usual time off
    nxt = np.roll(hours, -1)
    gaps = (nxt - hours) % 24
    gaps[gaps == 0] = 24
    j = int(np.argmax(gaps))
    start, length = int(hours[(j + 1) % len(hours)]), 24 - int(gaps[j]) + 1
    for h in range(start - margin_h, start + length + margin_h):
        usual[h % 24] = True
    return usual


def _interactive_logons(f: _Frame):
    """Times [s] and machine codes of the successful interactive logons (types 2, 10, 11, or no type given)."""
    import numpy as np

    idx = np.flatnonzero(f.kind_is["login_success"])
    if len(idx) == 0:
        return np.zeros(0), np.zeros(0, np.int64), False
    lv = [("" if v is None or v != v else str(v)).removesuffix(".0") for v in f.value[idx]]
    inter = idx[np.array([v in INTERACTIVE_LOGON_TYPES or v == "" for v in lv], dtype=bool)]
    return f.t[inter], f.dst_code[inter], True


def _write_sessions(f: _Frame, idx):
    """Session id per write position: one source to one destination, gaps <= SESSION_GAP_S."""
    import numpy as np

    return _bursts(f.t[idx], f.src_code[idx].astype(np.int64) * 1_000_003 + f.dst_code[idx], SESSION_GAP_S)


def _session_machines(f: _Frame, logons, t0):
    """Machines (codes) with an interactive logon within LOGON_WINDOW_S before t0."""
    import numpy as np

    lt, lm, _ = logons
    i0, i1 = np.searchsorted(lt, t0 - LOGON_WINDOW_S, "left"), np.searchsorted(lt, t0, "right")
    return {int(x) for x in lm[i0:i1] if x >= 0}


def _learn_write_logons(f: _Frame, mask) -> dict:
    """writer -> {'sessions': n, 'machines': {machine: sessions it logged on to before}} (names)."""
    import numpy as np

    idx = np.flatnonzero(mask)
    logons = _interactive_logons(f)
    out: dict = {}
    if len(idx) == 0:
        return out
    for g in _groups(idx, _write_sessions(f, idx)):
        w = str(f.hosts[f.src_code[g[0]]])
        entry = out.setdefault(w, {"sessions": 0, "machines": {}})
        entry["sessions"] += 1
        for m in _session_machines(f, logons, f.t[g[0]]):
            name = str(f.hosts[m])
            entry["machines"][name] = entry["machines"].get(name, 0) + 1
    return out


def _rule_writes(c: _Ctx):
    import numpy as np

    f, b = c.f, c.b
    idx = np.flatnonzero(f.is_write & ~c.claimed)
    if len(idx) == 0:
        return
    keys = _write_key(f, idx)
    v = f.numeric(idx)
    n_w = len(idx)
    new_obj = np.zeros(n_w, bool)
    out_range = np.zeros(n_w, bool)
    self_mode = b.established_bins > KNOWN_GOOD_BINS
    for k in np.unique(keys):
        sel = keys == k
        st = b.writes.get(str(k))
        if st is None or (st[0] < 1 and np.isnan(st[1])):
            new_obj[sel] = True
            continue
        n, lo, hi, med = st
        if not self_mode and not np.isnan(lo):
            vv = v[sel]
            m = max(VALUE_MARGIN_SPAN * (hi - lo), VALUE_MARGIN_REL * max(abs(lo), abs(hi)), 1e-9)
            out_range[sel] = (vv < lo - m) | (vv > hi + m)
    logons = _interactive_logons(f)
    have_logons = logons[2]
    src = f.src_code[idx]
    is_master_src = _in_set(src, f.dst_code[idx], c.polls)
    writer_known = np.array([b.writers.get(str(f.hosts[s]), 0) >= b.established_bins for s in src], dtype=bool)
    bid = _write_sessions(f, idx)
    if self_mode and not have_logons:
        # no logons to judge by: each session's values against the median of the other sessions' values of the
        # same object (leave-one-session-out, so a session never vouches for itself)
        for k in np.unique(keys):
            sel = np.flatnonzero((keys == k) & ~np.isnan(v))
            for s_ in np.unique(bid[sel]):
                mine = sel[bid[sel] == s_]
                other = v[sel[bid[sel] != s_]]
                if len(other) >= VALUE_SELF_MIN:
                    med = float(np.median(other))
                    out_range[mine] = np.abs(v[mine] - med) > VALUE_SELF_REL * abs(med)
    sessions = _groups(np.arange(n_w), bid)
    machines = [_session_machines(f, logons, f.t[idx[g[0]]]) for g in sessions]
    for j, g_local in enumerate(sessions):
        g = idx[g_local]
        s, d = int(f.src_code[g[0]]), int(f.dst_code[g[0]])
        t0 = f.t[g[0]]
        # the machines the writer's engineers log on to before writing: from the known-good baseline, or (self
        # mode) from the writer's other sessions in the batch, so a session never vouches for itself
        if self_mode:
            others = [machines[k] for k, gg in enumerate(sessions) if k != j and int(f.src_code[idx[gg[0]]]) == s]
            counts: dict = {}
            for ms in others:
                for m in ms:
                    counts[m] = counts.get(m, 0) + 1
            usual = {str(f.hosts[m]) for m, k in counts.items()
                     if k >= ROUTINE_LOGON_SHARE * max(len(others), 1)}
        else:
            entry = b.write_logons.get(str(f.hosts[s]), {"sessions": 0, "machines": {}})
            usual = {m for m, k in entry["machines"].items() if k >= ROUTINE_LOGON_SHARE * max(entry["sessions"], 1)}
        mine = {str(f.hosts[m]) for m in machines[j]}
        before = mine & usual if usual else mine
        no_logon = have_logons and not is_master_src[g_local].all() and not before
        new_writer = not writer_known[g_local].any() and not is_master_src[g_local].all()
        flagged = out_range[g_local].any() or no_logon or (new_obj[g_local].any() and new_writer)
        if not flagged:
            continue
        pos = c.conn_before(g, s, [d], t0, f.t[g[-1]])
        c.add("parameter_change", pos, s, writes=len(g), out_of_range=int(out_range[g_local].sum()),
              new_objects=int(new_obj[g_local].sum()), logon_before=int(not no_logon))


def _rule_scan(c: _Ctx):
    import numpy as np
    import pandas as pd

    f = c.f
    idx = np.flatnonzero(f.is_conn & ~c.claimed & (f.src_code >= 0))
    if len(idx):
        bid = _bursts(f.t[idx], f.src_code[idx].astype(np.int64), SCAN_GAP_S)
        df = pd.DataFrame({"b": bid, "d": f.dst_code[idx], "p": f.dport[idx], "fail": f.is_failed_conn[idx]})
        g = df.groupby("b")
        stats = pd.DataFrame({"dests": g["d"].nunique(), "fail": g["fail"].mean(),
                              "services": df.drop_duplicates(["b", "d", "p"]).groupby("b").size()})
        hit = stats.index[((stats["dests"] >= SCAN_MIN_DESTINATIONS) | (stats["services"] >= SCAN_MIN_SERVICES))
                          & (stats["fail"] >= SCAN_MIN_FAILED_SHARE)]
        for bb in hit:
            grp = idx[bid == bb]
            s = int(f.src_code[grp[0]])
            t0, t1 = f.t[grp[0]], f.t[grp[-1]]
            # the scanner's identification reads and other unestablished ICS records that follow
            follow = f.is_ics & (f.src_code == s) & ~_in_set_mask(c, f.src_code, f.dst_code, c.masters)
            pos = c.attach(grp, follow, t0, t1 + SCAN_TAIL_S)
            c.add("network_scan", pos, s, connections=len(grp), destinations=int(stats.loc[bb, "dests"]),
                  failed_percent=int(round(100 * stats.loc[bb, "fail"])))
    idx = np.flatnonzero(f.is_identify & ~c.claimed)
    if len(idx):
        est = _in_set(f.src_code[idx], f.dst_code[idx], c.masters)
        sub = idx[~est]
        for g in _groups(sub, _bursts(f.t[sub], f.src_code[sub].astype(np.int64), SESSION_GAP_S)):
            c.add("device_identification", g, int(f.src_code[g[0]]), requests=len(g),
                  outstations=len(np.unique(f.dst_code[g])))


def _in_set_mask(c: _Ctx, a, b, pairs):
    """Full-length mask of (a, b) in pairs, cached per pair set id."""
    import numpy as np

    key = id(pairs)
    cache = c.__dict__.setdefault("_insets", {})
    if key not in cache:
        ab = a.astype(np.int64) * 1_000_003 + b
        want = np.array([x * 1_000_003 + y for x, y in pairs], dtype=np.int64)
        cache[key] = np.isin(ab, want)
    return cache[key]


def _rule_denial(c: _Ctx):
    import numpy as np

    f = c.f
    # floods: half-open attempts per (source, destination) burst
    idx = np.flatnonzero(f.is_half_open & ~c.claimed & (f.src_code >= 0) & (f.dst_code >= 0))
    floods = []  # (positions, src, dst, t0, t1)
    if len(idx):
        key = f.src_code[idx].astype(np.int64) * 1_000_003 + f.dst_code[idx]
        bid = _bursts(f.t[idx], key, FLOOD_GAP_S)
        counts = np.bincount(bid)
        for bb in np.flatnonzero(counts >= FLOOD_MIN_CONNECTIONS):
            grp = np.sort(idx[bid == bb])
            dur = max(f.t[grp[-1]] - f.t[grp[0]], 1.0)
            if len(grp) / dur >= FLOOD_MIN_RATE:
                floods.append([grp, int(f.src_code[grp[0]]), int(f.dst_code[grp[0]]), f.t[grp[0]], f.t[grp[-1]]])
    # outages: unanswered requests per (master, outstation)
    idx = np.flatnonzero(f.is_timeout & ~c.claimed & (f.dst_code >= 0))
    outages = []  # [positions, master, outstation, t0, t1]
    if len(idx):
        key = f.src_code[idx].astype(np.int64) * 1_000_003 + f.dst_code[idx]
        for g in _groups(idx, _bursts(f.t[idx], key, OUTAGE_GAP_S)):
            if len(g) >= OUTAGE_MIN_RECORDS and f.t[g[-1]] - f.t[g[0]] >= OUTAGE_MIN_S:
                outages.append([g, int(f.src_code[g[0]]), int(f.dst_code[g[0]]), f.t[g[0]], f.t[g[-1]]])
    link = f.kind_is["link_down"]
    link_t = f.t[link]
    link_hosts = np.stack([f.src_code[link], f.dst_code[link]]) if link.any() else np.zeros((2, 0), int)
    unexplained = []
    flood_outages = {j: [] for j in range(len(floods))}
    for o in outages:
        _, _, d, t0, t1 = o
        near = (link_t >= t0 - LINK_MARGIN_S) & (link_t <= t1 + LINK_MARGIN_S) & (
            (link_hosts[0] == d) | (link_hosts[1] == d))
        if near.any():
            continue  # a routine link flap
        hit = [j for j, fl in enumerate(floods) if fl[2] == d and fl[3] - FLOOD_MARGIN_S <= t0 <= fl[4] + OUTAGE_GAP_S]
        if hit:
            flood_outages[hit[0]].append(o)
        else:
            unexplained.append(o)
    for j, (grp, s, d, t0, t1) in enumerate(floods):
        pos = grp
        for og, m, dd, a, z in flood_outages[j]:
            pos = np.concatenate([pos, og])
            pos = c.attach(pos, f.is_syslog & np.isin(f.src_code, [m, dd]) & ~_routine_app_mask(c), a - 10,
                           z + OUTAGE_TAIL_S)
        c.add("connection_flood", pos, s, connections=len(grp), outstations=1,
              unanswered=int(sum(len(o[0]) for o in flood_outages[j])))
    # denial of view: outages starting together
    unexplained.sort(key=lambda o: o[3])
    clusters, cur = [], []
    for o in unexplained:
        if cur and o[3] - cur[0][3] > DENIAL_CLUSTER_S:
            clusters.append(cur)
            cur = []
        cur.append(o)
    if cur:
        clusters.append(cur)
    for cl in clusters:
        outstations = {o[2] for o in cl}
        pos = np.concatenate([o[0] for o in cl])
        for og, m, d, a, z in cl:
            pos = c.attach(pos, f.is_syslog & np.isin(f.src_code, [m, d]) & ~_routine_app_mask(c), a - 10,
                           z + OUTAGE_TAIL_S)
        rule = "denial_of_view" if len(outstations) >= 2 else "outstation_silent"
        c.add(rule, pos, -1, outstations=len(outstations), unanswered=int(sum(len(o[0]) for o in cl)))


def _rule_logons(c: _Ctx):
    import numpy as np

    f, b = c.f, c.b
    fail = np.flatnonzero(f.kind_is["login_failure"] & ~c.claimed)
    succ = f.kind_is["login_success"]
    if len(fail):
        users = np.where(f.user[fail] == None, "", f.user[fail]).astype(str)  # noqa: E711
        ucode = np.unique(users, return_inverse=True)[1]
        key = f.src_code[fail].astype(np.int64) * 1_000_003 + ucode
        for g in _groups(fail, _bursts(f.t[fail], key, BRUTE_GAP_S)):
            if len(g) < BRUTE_MIN_FAILURES:
                continue
            s = int(f.src_code[g[0]])
            t1 = f.t[g[-1]]
            lo, hi = np.searchsorted(f.t, t1, "left"), np.searchsorted(f.t, t1 + BRUTE_SUCCESS_S, "right")
            cand = lo + np.flatnonzero(succ[lo:hi] & (f.src_code[lo:hi] == s) & ~c.claimed[lo:hi])
            cand = cand[:1]
            rule = "brute_force_logon" if len(cand) else "brute_force_attempt"
            c.add(rule, np.concatenate([g, cand]), s, failures=len(g), successes=len(cand))
    idx = np.flatnonzero(succ & ~c.claimed & (f.src_code >= 0))
    if len(idx):
        local = np.isin(f.source[idx], LOCAL_SOURCES)
        known = np.array([(s in c.known_hosts) for s in f.src_code[idx]], dtype=bool)
        seen = np.array([b.logons.get(f"{f.source[i]}|{f.destination[i]}", 0) >= b.established_bins for i in idx],
                        dtype=bool)
        odd = idx[~local & ~known & ~seen]
        for g in _groups(odd, _bursts(f.t[odd], f.src_code[odd].astype(np.int64), SESSION_GAP_S)):
            c.add("unusual_logon", g, int(f.src_code[g[0]]), logons=len(g))


def _rule_rogue(c: _Ctx):
    import numpy as np

    f = c.f
    idx = np.flatnonzero(f.is_ics & ~c.claimed & (f.src_code >= 0) & (f.dst_code >= 0))
    if len(idx) == 0:
        return
    a = np.minimum(f.src_code[idx], f.dst_code[idx]).astype(np.int64)
    z = np.maximum(f.src_code[idx], f.dst_code[idx]).astype(np.int64)
    pairs = _est_pairs(f, c.b.pairs, c.b)
    pairs = pairs | {(y, x) for x, y in pairs}
    est = _in_set(a, z, pairs)
    sub, a, z = idx[~est], a[~est], z[~est]
    if len(sub) == 0:
        return
    bid = _bursts(f.t[sub], a * 1_000_003 + z, SESSION_GAP_S)
    for g in _groups(sub, bid):
        if len(g) < ROGUE_MIN_RECORDS:
            continue
        s0, d0 = int(f.src_code[g[0]]), int(f.dst_code[g[0]])
        # the rogue is the end that is not an established host (else the one that sent the first record)
        if s0 in c.known_hosts and d0 not in c.known_hosts:
            s0, d0 = d0, s0
        pos = c.conn_before(g, s0, [d0], f.t[g[0]], f.t[g[-1]])
        c.add("rogue_master", pos, s0, records=len(g))


# ------------------------------------------------------------------------------------------------------------------
# the detection function
# ------------------------------------------------------------------------------------------------------------------

def detect_threats(records: "pandas.DataFrame", baseline: Baseline | None = None) -> DetectionReport:
    """Detect attacks in OT/SCADA log records and map them to MITRE ATT&CK for ICS.

    Parameters
    ----------
    records : pandas.DataFrame
        Log records in the shared record contract (``LogBatch.records``), shape (n, >= 10), any order.
    baseline : Baseline, optional
        From :func:`learn_baseline` on known-good records (mode a).  Default: learned from ``records`` themselves
        with recurrence required (mode b: :data:`SELF_ESTABLISHED_BINS` bins and :data:`SELF_ESTABLISHED_SHARE` of
        the bins).

    Returns
    -------
    DetectionReport
        Detections ordered by ``first_utc``; per record (input order) its technique id (``'normal'`` when in no
        detection) and detection id; the baseline used.

    Raises
    ------
    InputError
        If ``records`` is not a DataFrame with the record contract's columns, or ``baseline`` is not a
        :class:`Baseline`.

    Notes
    -----
    Rules, in the order they claim records (a record belongs to at most one detection):

    1. ``program_download`` (T0843, critical): kinds program_download/firmware, DNP3 object group 70 (file
       transfer), restart commands in the same session (gap <= :data:`SESSION_GAP_S`); the acting source's
       connection records up to :data:`CONN_LEAD_S` before, and the device's non-routine syslog lines up to
       :data:`DOWNLOAD_TAIL_S` after.  ``configuration_change`` (medium): a non-routine config_change line alone.
    2. T0855 commands (kinds operate/command/select, Modbus coil writes 5/15; DNP3 analog outputs g41/g42 count as
       set-points): ``command_from_unusual_master`` (high) when the source neither polls nor commands the
       outstation in the baseline; ``operate_without_select`` (high) when the pair uses select-before-operate and
       no select came within :data:`SBO_WINDOW_S`; ``command_at_unusual_hour`` (medium, known-good baseline with
       >= :data:`COMMAND_HOURS_MIN_COMMANDS` commands only) outside the source's command hours
       +- :data:`COMMAND_HOUR_MARGIN_H`.  Critical when 3 or more outstations are commanded.
    3. ``parameter_change`` (T0836, high): a write session (gap <= :data:`SESSION_GAP_S`) is flagged when a value
       is out of range (known-good: outside ``[min - m, max + m]``, ``m = max(0.1 (max - min), 0.05 max(|min|,
       |max|))``; self, only when the batch holds no logons: ``|v - median| > 0.15 |median|`` of the other
       sessions' values, at least 5 of them), or when no interactive logon (Windows logon type 2, 10, 11) on one
       of the writer's usual logon machines came within :data:`LOGON_WINDOW_S` before it (usual: a logon there
       preceded >= :data:`ROUTINE_LOGON_SHARE` of the writer's known-good sessions, or of its other sessions in
       the batch; no usual machine learned: any interactive logon; judged only when the batch holds logons, and
       not for the outstation's polling master), or when it writes a new object from a source that never wrote.
    4. ``connection_flood`` (T0814, high): >= :data:`FLOOD_MIN_CONNECTIONS` half-open attempts (Zeek S0, REJ,
       ...) from one source to one destination at >= :data:`FLOOD_MIN_RATE` /s, with the outstation's outages
       (>= :data:`OUTAGE_MIN_RECORDS` unanswered polls gap <= :data:`OUTAGE_GAP_S`) that start up to
       :data:`FLOOD_MARGIN_S` after the flood began, and the master's and outstation's non-routine syslog lines
       meanwhile.  ``denial_of_view`` (T0815, high): outages of >= 2 outstations starting within
       :data:`DENIAL_CLUSTER_S`, none explained by a link_down (+- :data:`LINK_MARGIN_S`) or a flood;
       ``outstation_silent`` (T0815, medium): one such outage.  An outage with a link_down is a routine flap.
    5. ``network_scan`` (T0846, medium): one source reaching >= :data:`SCAN_MIN_DESTINATIONS` addresses or >=
       :data:`SCAN_MIN_SERVICES` address-ports in a burst (gap <= :data:`SCAN_GAP_S`), >= 50 % failing, with its
       unestablished ICS records up to :data:`SCAN_TAIL_S` after; ``device_identification`` (low): Modbus 43,
       DNP3 g0, MMS identify/getNameList from a source that is not a master of the outstation.
    6. ``brute_force_logon`` (T0859, high): >= :data:`BRUTE_MIN_FAILURES` failures of one account from one source
       (gap <= :data:`BRUTE_GAP_S`) and the source's next success within :data:`BRUTE_SUCCESS_S`;
       ``brute_force_attempt`` (medium) without a success; ``unusual_logon`` (medium): a success from a
       non-local source never seen on the network nor logging on before.
    7. ``rogue_master`` (T0848, high): >= :data:`ROGUE_MIN_RECORDS` ICS records in one burst between a pair that
       is not established, with its connection records.

    Severity rule: :data:`SEVERITY_RULE`.  Throughput: about 10^5-10^6 records/s on one core (all vectorised).

    References
    ----------
    .. [1] MITRE ATT&CK for ICS v16.1, techniques T0814, T0815, T0836, T0843, T0846, T0848, T0855, T0859,
       https://attack.mitre.org/versions/v16/techniques/<id>/
    .. [2] Modbus Organization, MODBUS Application Protocol Specification V1.1b3 (2012), clauses 6.5, 6.6, 6.12
       (writes), 6.21 (43/14 Read Device Identification).
    .. [3] IEEE Std 1815-2012 (DNP3), clause 4.4.1 (SELECT 3, OPERATE 4, DIRECT_OPERATE 5, COLD_RESTART 13,
       OPEN_FILE 25), Annex A (groups 0, 12, 41, 70).
    .. [4] IEC 60870-5-101:2003 clause 7.2.6.16 (select/execute), 7.4.11 (file transfer); IEC 60870-5-104:2006.
    .. [5] IEC 61850-7-2:2010 clause 20 (select-before-operate); IEC 61850-8-1:2011 (MMS mapping).
    .. [6] Zeek documentation, base/protocols/conn/main.zeek, ``conn_state`` (S0, REJ, SH, OTH ...).
    .. [7] NIST SP 800-82r3 (2023), clause 6.2.6 and Appendix F (OT monitoring and anomaly detection).
    """
    import numpy as np

    f = _Frame(records)
    notes = []
    if baseline is None:
        baseline = _learn(f, SELF_ESTABLISHED_BINS)
        if f.n and baseline.established_bins == KNOWN_GOOD_BINS:
            notes.append(f"the logs span {baseline.bins} time bin(s) of {baseline.bin_s:g} s, too few to learn a "
                         f"routine from (at least {SELF_ESTABLISHED_BINS} needed): everything in them was taken as "
                         "routine, so only the explicit rules (scans, floods, brute force, program downloads, "
                         "operate without select) could fire; give known-good logs as the baseline")
    elif not isinstance(baseline, Baseline):
        raise InputError("baseline must be a Baseline", field="baseline",
                         fix="give learn_baseline(known_good_records) or Baseline.from_dict(data).")
    c = _Ctx(f, baseline)
    _rule_download(c)
    _rule_commands(c)
    _rule_writes(c)
    _rule_denial(c)
    _rule_scan(c)
    _rule_logons(c)
    _rule_rogue(c)
    cfg = np.flatnonzero((f.kind_is["config_change"] | f.kind_is["firmware"]) & ~c.claimed & ~_routine_app_mask(c))
    for g in _groups(cfg, _bursts(f.t[cfg], f.src_code[cfg].astype(np.int64), SESSION_GAP_S)):
        c.add("configuration_change", g, int(f.src_code[g[0]]), reports=len(g))
    detections, tech_sorted, det_sorted = _build(c)
    tech = np.full(f.n, "normal", dtype=object)
    det = np.full(f.n, "", dtype=object)
    tech[f.order] = tech_sorted
    det[f.order] = det_sorted
    return DetectionReport(detections=detections, record_technique=tech, record_detection=det, baseline=baseline,
                           notes=notes)


def _distinct(values, limit):
    """The first ``limit`` distinct shown() values, in order of appearance."""
    import pandas as pd

    out = []
    seen = set()
    for v in pd.unique(pd.Series(values, dtype=object)):
        s = shown(v)
        if s is None or s in seen:
            continue
        seen.add(s)
        out.append(s)
        if len(out) >= limit:
            break
    return out


def _build(c: _Ctx):
    import numpy as np
    import pandas as pd

    f = c.f
    tech = np.full(f.n, "normal", dtype=object)
    det = np.full(f.n, "", dtype=object)
    items = sorted(c.found, key=lambda x: (f.t[x[1][0]], x[0]))
    out = []
    for j, (rule, pos, src, numbers) in enumerate(items):
        pos = np.sort(pos)
        tid, basis, severity, _ = RULES[rule]
        tech_ = technique(tid)
        ident = f"CY{j + 1}"
        tech[pos] = tid
        det[pos] = ident
        dst_codes = [d for d in pd.unique(f.dst_code[pos]) if d >= 0 and d != src]
        if rule in ("denial_of_view", "outstation_silent"):
            dst_codes = [d for d in pd.unique(f.dst_code[pos[f.is_timeout[pos]]]) if d >= 0]
        dests = _distinct(f.hosts[dst_codes], 10 ** 6) if dst_codes else []
        if tid == "T0855" and numbers.get("outstations", 0) >= 3:
            severity = "critical"
        protos = pd.Series(f.protocol[pos]).value_counts()
        lines = []
        for i in pos[:MAX_LINES]:
            fl, ln = shown(f.file[i]), f.line[i]
            lines.append(f"{fl or '-'}:{'-' if ln is None or pd.isna(ln) else int(ln)}")
        src_shown = shown(f.hosts[src]) if src is not None and src >= 0 else None
        nums = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in numbers.items())
        reason = (f"{rule.replace('_', ' ')}: {len(pos)} records"
                  f"{' from ' + src_shown if src_shown else ''}"
                  f"{' to ' + str(len(dests)) + ' host(s)' if dests else ''}; {nums}")
        out.append(Detection(
            id=ident, technique_id=tid, technique=tech_.name, tactics=list(tech_.tactics),
            data_sources=list(tech_.data_sources), rule=rule, basis=basis, severity=severity, source=src_shown,
            destinations=dests[:MAX_DESTINATIONS], destinations_omitted=max(0, len(dests) - MAX_DESTINATIONS),
            protocol=shown(protos.index[0]) if len(protos) else None,
            functions=_distinct(f.function[pos], MAX_ITEMS), objects=_distinct(f.object[pos], MAX_ITEMS),
            users=_distinct(f.user[pos], MAX_ITEMS),
            first_utc=pd.Timestamp(int(f.t_ns[pos[0]]) // 1000 * 1000, tz="UTC").to_pydatetime(),
            last_utc=pd.Timestamp(int(f.t_ns[pos[-1]]) // 1000 * 1000, tz="UTC").to_pydatetime(),
            records=int(len(pos)), lines=lines, reason=reason,
            confidence={"rule": 0.9, "rule+baseline": 0.8, "baseline": 0.7}[basis]))
    return out, tech, det
