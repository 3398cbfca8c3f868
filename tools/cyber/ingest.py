"""Cyber (SCADA/OT) log ingestion: syslog, Zeek, Suricata EVE, Windows event exports and protocol records, validated
row by row into one record table.

:func:`read_logs` reads a file under the data roots, a text/bytes payload or a list of JSON-like objects, detects
its format from the content (never from the file name), parses it with the format's parser
(:mod:`gridsage.tools.cyber._formats`) and validates every record with column operations.  Each record is either
kept in ``records`` (the shared record contract, below) or listed in ``rejected`` with its file, line, the field
at fault and why; a reason is a fixed phrase and never quotes the log: log content is untrusted data, never
instructions.  :func:`ingest_logs` is the tool: counts, formats, time span and the first rejected lines.

Record contract (``LogBatch.records`` columns, in order, :data:`COLUMNS`):
``time_utc`` (datetime64[ns, UTC]), ``source`` (IP or host), ``destination`` (or None), ``source_port`` and
``destination_port`` (Int64, <NA> when absent), ``protocol`` (:data:`PROTOCOLS`), ``kind`` (:data:`KINDS`),
``function`` (Modbus decimal code '6', DNP3 name 'DIRECT_OPERATE', IEC 104 type 'C_SC_NA_1', MMS service
'getNameList', Windows event id '4625', Zeek conn_state, Suricata signature id, syslog APP-NAME/TAG), ``object``,
``value``, ``user``, ``status``, ``format`` (e.g. 'protocol_csv', 'zeek_modbus', 'syslog_5424',
'suricata_alert', 'windows_csv'), ``file`` (name only), ``line`` (1-based line in the file; for a JSON array or a
list of objects, the 1-based position), ``message`` (at most :data:`MAX_MESSAGE_CHARS` characters).  Text columns
are object dtype holding str or None.

Validation:

- Time: ISO 8601 / RFC 3339 with a UTC offset (protocol CSV, RFC 5424, Suricata, Windows); epoch seconds (Zeek,
  or ISO 8601 when Zeek writes JSON with ISO timestamps); Windows ``/Date(ms)/`` (ConvertTo-Json) and the en-US
  ``M/d/yyyy h:mm:ss AM`` of Export-Csv; RFC 3164's ``Mmm dd hh:mm:ss`` has neither year nor zone: it is read in
  the IANA zone ``tz`` and in ``year`` (default: the current UTC year, and the previous one for a time more than
  one day ahead of now, as at a new year's rollover).  A time without an offset (RFC 5424 requires one; naive
  ISO or Windows times) is read in ``tz``; without ``tz`` it is rejected;
  so is a local time that does not exist or is ambiguous at a DST change, and a time outside 1970-2100.
- Addresses: IPv4/IPv6 by :mod:`ipaddress` (held in compressed form); host names (RFC 1123 labels) where the
  format carries them (syslog HOSTNAME, Windows MachineName, protocol CSV); Zeek and Suricata need addresses.
- Ports: integers 0-65535; blank or '-' is <NA>.
- Protocol CSV: ``protocol`` must be one name of letters, digits, '_', '.', '-'; a name outside modbus, dnp3,
  iec104, mms keeps the row with protocol and kind 'other'.  An unknown function code or name keeps the row with
  kind 'other'.  An optional ``select_execute`` column (IEC 104 S/E bit: 'S'/'1' select, 'E'/'0' execute) turns
  IEC 104 commands into 'select' / 'operate'; an MMS write of an IEC 61850 control (``...$SBOw``, ``...$Oper``)
  is 'select' / 'operate'.
- Syslog: login lines (OpenSSH, PAM) take the remote address as ``source`` and the logging host as
  ``destination``; other lines have the host as ``source``.  ``value`` is the severity name (PRI mod 8).
- Windows: ``source`` is IpAddress, or MachineName when IpAddress is blank or '-'; ``destination`` MachineName;
  ``object`` and ``user`` TargetUserName; ``value`` LogonType.
- Required fields blank or missing -> rejected with the field's name (the input's own name, e.g. 'id.orig_h').
- Text fields: control, zero-width and bidirectional-override characters are escaped (``\\x1b``, ``\\u202e``) so
  no log line can restyle a terminal or reorder a report; fields longer than :data:`MAX_FIELD_CHARS` (message:
  :data:`MAX_MESSAGE_CHARS`) are cut (ending in '…') and counted in ``counts.truncated``.

References
----------
.. [1] RFC 3339, "Date and Time on the Internet: Timestamps", clause 5.6; ISO 8601-1:2019 clause 5.3.4.
.. [2] RFC 5424 clause 6.2.3 (TIMESTAMP), 6.2.4 (HOSTNAME); RFC 3164 clause 4.1.2 (TIMESTAMP without year or zone).
.. [3] RFC 1123 clause 2.1 (host name syntax); RFC 5952 (IPv6 text form, as :mod:`ipaddress` writes it).
.. [4] Zeek documentation, logging framework (``ts`` as epoch seconds; JSON output); Suricata "EVE JSON Format".
.. [5] Protocol tables and their standards: :mod:`gridsage.tools.cyber._formats`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field as dc_field
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from gridsage.errors import InputError, RequestTooLargeError
from gridsage.tools.base import ToolResult, tool
from gridsage.tools.cyber._formats import (COLUMNS, KINDS, MODBUS_EXCEPTIONS, PROTOCOLS, Parsed, detect, detect_keys,
                                           normalise_function, parse_protocol_csv, parse_suricata, parse_syslog, parse_windows_csv,
                                           parse_windows_json, parse_zeek, select_execute_kind, zeek_objects)
from gridsage.tools.paths import readable_file

__all__ = ["COLUMNS", "FORMATS", "KINDS", "MODBUS_EXCEPTIONS", "PROTOCOLS", "LogBatch", "LogCounts", "LogIngestResult", "RejectedLine",
           "ingest_logs", "read_logs"]

#: most lines (records) read in one batch
MAX_LINES = 2_000_000
#: largest file or payload read [bytes]
MAX_BYTES = 512 * 1024 * 1024
#: longest kept text field (function, object, value, user, status) [characters]
MAX_FIELD_CHARS = 256
#: longest kept message [characters]
MAX_MESSAGE_CHARS = 200
#: most rejected lines (and truncated fields) listed in a batch; all are counted
MAX_LISTED = 1_000
#: the formats :func:`read_logs` takes ('auto' detects one of the others from the content)
FORMATS = ("auto", "syslog", "zeek", "suricata", "windows_csv", "windows_json", "protocol_csv")
Format = Literal["auto", "syslog", "zeek", "suricata", "windows_csv", "windows_json", "protocol_csv"]

_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_][A-Za-z0-9_-]{0,62})*\.?$")
_PROTOCOL_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
_CONTROL = r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
_OPERATE_OBJECT = r"(?:^|[$./])(?P<ctl>SBOw|SBO|Oper)(?:$|[$./])"
_MIN_NS, _MAX_NS = 0, 4_102_444_800 * 10**9  # 1970-01-01 .. 2100-01-01 UTC [ns]
_TEXT_COLUMNS = ("function", "object", "value", "user", "status", "message")


class RejectedLine(BaseModel):
    """One input line (record) that was not kept, and why; never its content."""

    file: str = Field(description="File name, '<text>' for a payload, '<records>' for a list of objects.")
    line: int = Field(description="1-based line in the file (position in a JSON array or list of objects).")
    field: str = Field(description="Field at fault, as the input names it (e.g. 'id.orig_h', 'TimeCreated'), "
                                   "or 'line' when the line itself is unreadable.")
    reason: str = Field(description="Why, in a fixed phrase that quotes nothing from the line.")


class LogCounts(BaseModel):
    """What one ingestion read, kept and rejected."""

    file: str
    format: str = Field(description="Format read: syslog, zeek, suricata, windows_csv, windows_json or protocol_csv.")
    read: int = Field(description="Records read (non-blank lines, header lines excluded).")
    accepted: int
    rejected: int
    rejected_by_field: dict[str, int] = Field(default_factory=dict)
    by_format: dict[str, int] = Field(default_factory=dict, description="Accepted records per format, e.g. "
                                                                        "'syslog_5424', 'zeek_conn'.")
    by_protocol: dict[str, int] = Field(default_factory=dict, description="Accepted records per protocol.")
    by_kind: dict[str, int] = Field(default_factory=dict, description="Accepted records per kind.")
    truncated: dict[str, int] = Field(default_factory=dict, description="Accepted records per field cut to its "
                                                                        "bound.")


@dataclass
class LogBatch:
    """A validated batch of log records.

    Attributes
    ----------
    records : pandas.DataFrame
        The record contract (module docstring), in input order, index 0..n-1.
    rejected : list of RejectedLine
        The first :data:`MAX_LISTED` rejected lines, in line order (``counts.rejected`` has them all).
    counts : LogCounts
    format : str
        Format read (detected when 'auto').
    truncated : list of (int, str)
        The first :data:`MAX_LISTED` (line, field) pairs cut to their bound.
    """

    records: Any
    rejected: list[RejectedLine]
    counts: LogCounts
    format: str
    truncated: list[tuple[int, str]] = dc_field(default_factory=list)


# ------------------------------------------------------------------------------------------------------------ loading
def _zone(tz: str):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InputError(f"unknown time zone {tz!r}", field="tz",
                         fix="use an IANA zone name such as 'Europe/Paris', or give UTC offsets in the data.") from None


def _load(source) -> tuple[str | list, str]:
    """The text (or list of objects) and the name of the source."""
    if isinstance(source, (list, tuple)):
        if len(source) > MAX_LINES:
            raise RequestTooLargeError(f"more than {MAX_LINES:,} records", field="source",
                                       fix=f"split the logs into batches of at most {MAX_LINES:,} records.")
        return list(source), "<records>"
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), "<text>"
    elif isinstance(source, str) and ("\n" in source or "\r" in source):
        data, name = source, "<text>"
    elif isinstance(source, (str, os.PathLike)):
        path = readable_file(source, "path")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise RequestTooLargeError(f"{path.name} has {size:,} bytes; at most {MAX_BYTES:,} are read at once",
                                       field="path", fix="split the log file into smaller files.")
        try:
            data, name = path.read_bytes(), path.name
        except OSError as exc:
            raise InputError(f"{path.name} cannot be read ({exc.strerror or type(exc).__name__})", field="path",
                             fix="check the file's permissions.") from None
    else:
        raise InputError(f"the source is a {type(source).__name__}", field="source",
                         fix="give a file path, the log text (with its newlines) or bytes, or a list of JSON objects.")
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise RequestTooLargeError(f"the payload has {len(data):,} bytes; at most {MAX_BYTES:,} are read at once",
                                       field="source", fix="split the logs into smaller batches.")
        data = data.decode("utf-8", errors="replace")  # a stray byte in one message must not lose the file
    text = data.removeprefix("\ufeff").replace("\x00", "\ufffd")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    lines = text.count("\n") + 1
    if lines > MAX_LINES + 64:  # a little room for header lines
        raise RequestTooLargeError(f"{lines:,} lines; at most {MAX_LINES:,} are read at once", field="source",
                                   fix=f"split the logs into batches of at most {MAX_LINES:,} lines.")
    return text, name


def _protocol_records(objects: list) -> Parsed:
    """Protocol records given as objects with the protocol CSV's keys (numbered by position)."""
    import csv
    import io

    keys = list(dict.fromkeys(k for o in objects[:50] if isinstance(o, dict) for k in o))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(keys)
    for o in objects:
        writer.writerow(["" if not isinstance(o, dict) or o.get(k) is None else o.get(k) for k in keys])
    parsed = parse_protocol_csv(buffer.getvalue())
    parsed.line = [n - 1 for n in parsed.line]  # CSV line n is object n - 1
    parsed.rejected = [(n - 1, f, r) for n, f, r in parsed.rejected]
    return parsed


def _parse(data: str | list, fmt: str) -> tuple[Parsed, str]:
    if isinstance(data, list):
        dicts = [o for o in data if isinstance(o, dict)]
        if fmt == "auto":
            fmt = detect_keys(dicts[0].keys()) if dicts else None
            if fmt is None:
                raise InputError("the objects' keys match no log format", field="format",
                                 fix="pass format= one of " + ", ".join(FORMATS[1:]) + " (syslog needs text).")
        numbers = [i + 1 for i, o in enumerate(data) if isinstance(o, dict)]
        bad = [(i + 1, "line", "not a JSON object") for i, o in enumerate(data) if not isinstance(o, dict)]
        if fmt == "suricata":
            parsed = parse_suricata(None, dicts, numbers)
        elif fmt in ("windows_json", "windows_csv"):
            parsed, bad = parse_windows_json(None, data), []
        elif fmt == "zeek":
            parsed = zeek_objects(dicts, numbers, [])
        elif fmt == "protocol_csv":
            parsed, bad = _protocol_records(data), []
        else:
            raise InputError(f"format {fmt!r} cannot be read from a list of objects", field="format",
                             fix="give syslog as text (a file or a payload with newlines).")
        parsed.rejected = sorted(parsed.rejected + bad)
        return parsed, fmt
    if fmt == "auto":
        found = detect(data)
        if found is None:
            raise InputError("the content matches no supported log format", field="format",
                             fix="give syslog (RFC 5424/3164), Zeek TSV or JSON, Suricata EVE JSON, a Windows event "
                                 "export (CSV/JSON) or a protocol-record CSV, or pass format= explicitly.")
        fmt = found
    parser = {"syslog": parse_syslog, "zeek": parse_zeek, "suricata": parse_suricata,
              "windows_csv": parse_windows_csv, "windows_json": parse_windows_json,
              "protocol_csv": parse_protocol_csv}[fmt]
    return parser(data), fmt


# -------------------------------------------------------------------------------------------------------------- times
_OFFSET_COLON = re.compile(r"[+-]\d\d:\d\d")
_OFFSET_PLAIN = re.compile(r"[0-9.][+-]\d{4}")


def _suffix(tail: str) -> tuple[int, int]:
    """(characters to cut, UTC offset [min]) of an ISO 8601 time's last six characters; (0, 0) if it has none."""
    if tail.endswith(("Z", "z")):
        return 1, 0
    if _OFFSET_COLON.fullmatch(tail):
        sign = -1 if tail[0] == "-" else 1
        return 6, sign * (int(tail[1:3]) * 60 + int(tail[4:6]))
    if _OFFSET_PLAIN.fullmatch(tail[-6:]):
        sign = -1 if tail[-5] == "-" else 1
        return 5, sign * (int(tail[-4:-2]) * 60 + int(tail[-2:]))
    return 0, 0


def _iso(values: list[str], tz: str | None):
    """ISO 8601 texts -> (ns since epoch, problem code) arrays; codes: 0 ok, 2 unparsed, 3 naive, 4 DST.

    The UTC offset is read from each text's last six characters (one look-up per distinct suffix: logs repeat
    'Z' or '+0000'), the rest by pandas' ISO 8601 parser without time zones, which is fast.
    """
    import numpy as np
    import pandas as pd

    n = len(values)
    ns = np.zeros(n, dtype=np.int64)
    problem = np.zeros(n, dtype=np.int8)
    if not n:
        return ns, problem
    codes, tails = pd.factorize(np.array([v[-6:] for v in values], dtype=object))
    table = [_suffix(t) for t in tails]
    cut = np.array([c for c, _ in table], dtype=np.int64)[codes]
    offset = np.array([o for _, o in table], dtype=np.int64)[codes]
    core = [v[:-c] if c else v for v, c in zip(values, cut.tolist())]
    t = pd.to_datetime(pd.Series(core, dtype=object), format="ISO8601", errors="coerce")
    if t.dt.tz is not None:  # a core still holding an offset: parsed aware, which we never expect
        t = t.dt.tz_convert("UTC").dt.tz_localize(None)
    ok = t.notna().to_numpy()
    stamp = t.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    has = np.array([c > 0 for c, _ in table], dtype=bool)[codes]
    good = ok & has
    ns[good] = stamp[good] - offset[good] * 60_000_000_000
    problem[~ok] = 2
    naive = ok & ~has
    if naive.any():
        idx = np.flatnonzero(naive)
        got = _localize(pd.Series(t.to_numpy()[idx]), tz)
        ns[idx], problem[idx] = got
    return ns, problem


def _localize(t, tz: str | None):
    """Naive parsed times (Series) -> (ns, problem) with tz; problem 3 without tz, 4 at a DST gap or overlap."""
    import numpy as np
    import pandas as pd

    ok = t.notna().to_numpy()
    ns = np.zeros(len(t), dtype=np.int64)
    problem = np.where(ok, 0, 2).astype(np.int8)
    if not tz:
        problem[ok] = 3
        return ns, problem
    local = pd.DatetimeIndex(t).tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    good = ok & np.asarray(local.notna())
    ns[good] = local[good].tz_convert("UTC").asi8
    problem[ok & ~good] = 4
    return ns, problem


def _as_text(values) -> list:
    """Values as str (None kept); floats as repr (epoch seconds keep their digits)."""
    return [v if v.__class__ is str or v is None else (repr(v) if isinstance(v, float) else str(v)) for v in values]


def _times(values, kinds, tz: str | None, year: int | None):
    """Raw times -> (ns since epoch, problem code): 0 ok, 1 missing, 2 unparsed, 3 naive, 4 DST, 5 out of range."""
    import numpy as np
    import pandas as pd

    values = values if isinstance(values, list) else list(values)
    n = len(values)
    kind = np.full(n, kinds, dtype=object) if isinstance(kinds, str) else np.asarray(kinds, dtype=object)
    ns = np.zeros(n, dtype=np.int64)
    problem = np.zeros(n, dtype=np.int8)
    if not n:
        return ns, problem

    def fill(mask, got):
        idx = np.flatnonzero(mask)
        ns[idx], problem[idx] = got

    zeek = kind == "zeek"
    if zeek.any():  # epoch seconds; a Zeek text that is not a number is ISO 8601 (Zeek's JSON ISO timestamps)
        sub = [values[i] for i in np.flatnonzero(zeek)] if not zeek.all() else values
        try:
            number = np.asarray(sub, dtype=float)
        except (TypeError, ValueError):
            number = pd.to_numeric(pd.Series(sub, dtype=object), errors="coerce").to_numpy(dtype=float)
        idx = np.flatnonzero(zeek)
        finite = np.isfinite(number)
        inside = finite & (number >= 0) & (number < _MAX_NS / 1e9)
        ns[idx[inside]] = np.round(number[inside] * 1e6).astype(np.int64) * 1000
        problem[idx[finite & ~inside]] = 5
        kind[idx[~finite]] = "iso"
    text = _as_text(values) if (~zeek).any() or (kind == "iso").any() else None
    missing = np.zeros(n, dtype=bool)
    if text is not None:
        missing = np.array([t is None or t == "-" or not t.strip() for t in text], dtype=bool)
        missing &= kind != "zeek"
    problem[missing] = 1
    todo = ~missing & (kind != "zeek")
    windows = todo & (kind == "windows")
    if windows.any():
        idx = np.flatnonzero(windows)
        w = pd.Series([text[i].strip() for i in idx], dtype=object)
        is_date = np.fromiter((t.startswith("/Date(") for t in w), dtype=bool, count=len(w))
        if is_date.any():
            date = w[is_date].str.extract(r"^/Date\((-?\d{1,15})\)/$")[0]
            got = date.notna().to_numpy()
            ns[idx[is_date][got]] = pd.to_numeric(date[got]).to_numpy(dtype=np.int64) * 1_000_000
            problem[idx[is_date][~got]] = 2
        us = np.fromiter((t[-2:].upper() in ("AM", "PM") and "/" in t[:6] for t in w), dtype=bool, count=len(w))
        if us.any():
            clean = w[us].str.replace(r"\s*([AaPp][Mm])$", r" \1", regex=True)
            t = pd.to_datetime(clean, format="%m/%d/%Y %I:%M:%S %p", errors="coerce")
            short = t.isna().to_numpy()
            if short.any():  # seconds omitted
                t[short] = pd.to_datetime(clean[short], format="%m/%d/%Y %I:%M %p", errors="coerce")
            ns[idx[us]], problem[idx[us]] = _localize(t, tz)
        kind[idx[~is_date & ~us]] = "iso"
    bsd = todo & (kind == "bsd")
    if bsd.any():
        idx = np.flatnonzero(bsd)
        b = pd.Series([" ".join(text[i].split()) for i in idx], dtype=object)
        now = pd.Timestamp.now(tz="UTC")
        y = year or now.year
        codes, distinct = pd.factorize(b)  # second resolution: lines share their times, parse each once
        t = pd.Series(pd.to_datetime(f"{y} " + pd.Series(distinct, dtype=object), format="%Y %b %d %H:%M:%S",
                                     errors="coerce").to_numpy()[codes])
        got = _localize(t, tz)
        if year is None and tz:
            ahead = (got[1] == 0) & (got[0] > (now + pd.Timedelta(days=1)).value)
            if ahead.any():  # a December line read in January: last year's
                prev = _localize(pd.to_datetime(f"{y - 1} " + b[ahead], format="%Y %b %d %H:%M:%S",
                                                errors="coerce"), tz)
                got[0][ahead], got[1][ahead] = prev
        fill(bsd, got)
    iso = todo & (kind == "iso")
    if iso.any():
        idx = np.flatnonzero(iso)
        fill(iso, _iso([text[i].strip() for i in idx] if not iso.all() else [t.strip() for t in text], tz))
    problem[(problem == 0) & ((ns < _MIN_NS) | (ns >= _MAX_NS))] = 5
    return ns, problem


_TIME_REASONS = {
    1: "missing",
    2: "not a time in this format's syntax (ISO 8601 with offset, epoch seconds, or as the format documents)",
    3: "no UTC offset and no zone: add an offset to the data or pass tz (an IANA zone)",
    4: "does not exist or is ambiguous in the given zone (DST change)",
    5: "outside 1970-2100",
}


# ------------------------------------------------------------------------------------------------------- validation
def _column(values, n: int):
    """A column as an object array of length n (None where missing: None or '')."""
    import numpy as np

    if values is None or isinstance(values, str):
        return np.full(n, values, dtype=object)
    out = np.empty(n, dtype=object)
    out[:] = values
    missing = np.equal(out, None) | np.equal(out, "")
    if missing.any():
        out[missing] = None
    return out


def _blank(arr):
    """Per row: None, empty or whitespace-only text."""
    import numpy as np

    blank = np.equal(arr, None) | np.equal(arr, "")
    maybe = np.flatnonzero(~blank)
    if maybe.size:  # whitespace-only text
        blank[maybe] = np.fromiter((v.__class__ is str and v[:1].isspace() and v.isspace() for v in arr[maybe]),
                                   dtype=bool, count=maybe.size)
    return blank


def _addresses(arr, hosts: bool):
    """Per row: normalised address (IP compressed, host as given) or None, and a validity mask (blank -> valid)."""
    import ipaddress

    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    norm = np.empty(len(uniques) + 1, dtype=object)
    valid = np.ones(len(uniques) + 1, dtype=bool)
    for i, u in enumerate(uniques):
        t = str(u).strip()
        if not t or t == "-":
            norm[i] = None
            continue
        try:
            norm[i] = str(ipaddress.ip_address(t[1:-1] if t.startswith("[") and t.endswith("]") else t))
        except ValueError:
            if hosts and _HOST.match(t) and not re.fullmatch(r"[\d.]+", t):
                norm[i] = t
            else:
                norm[i], valid[i] = None, False
    norm[-1] = None
    return norm[codes], valid[codes]


def _ports(arr):
    """Per row: port (float, NaN if blank) and a validity mask (blank -> valid)."""
    import numpy as np
    import pandas as pd

    try:
        number = np.asarray(arr, dtype=float)  # ints, digit strings and None (NaN) in one C pass
        blank = np.isnan(number)
    except (TypeError, ValueError):
        blank = _blank(arr) | np.array([v.__class__ is str and v.strip() == "-" for v in arr], dtype=bool)
        number = pd.to_numeric(pd.Series(np.where(blank, None, arr), dtype=object), errors="coerce").to_numpy(float)
    with np.errstate(invalid="ignore"):
        ok = blank | ((number == np.round(number)) & (number >= 0) & (number <= 65535))
    number[blank] = np.nan
    return number, ok


def _escape(match) -> str:
    c = ord(match[0])
    return f"\\x{c:02x}" if c < 256 else f"\\u{c:04x}"


def _text_column(arr, bound: int):
    """Escaped, bounded text column (object array of str/None) and the mask of rows cut to the bound."""
    import numpy as np

    n = len(arr)
    present = np.not_equal(arr, None)
    if not present.any():
        return arr, np.zeros(n, dtype=bool)
    idx = np.flatnonzero(present)
    values = [v if v.__class__ is str else str(v) for v in arr[idx]]
    if re.search(_CONTROL, "\x20".join(values)):  # one scan of the whole column; per value only if needed
        control = re.compile(_CONTROL)
        values = [control.sub(_escape, v) if control.search(v) else v for v in values]
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    long = lengths > bound
    if long.any():
        for j in np.flatnonzero(long):
            values[j] = values[j][: bound - 1] + "…"
    out = arr.copy()
    out[idx] = values
    cut = np.zeros(n, dtype=bool)
    cut[idx[long]] = True
    return out, cut


def _validate(parsed: Parsed, name: str, fmt: str, tz: str | None, year: int | None) -> LogBatch:
    import numpy as np
    import pandas as pd

    n = len(parsed.line)
    line = np.asarray(parsed.line, dtype=np.int64)
    bad = np.zeros(n, dtype=bool)
    fields = np.empty(n, dtype=object)
    reasons = np.empty(n, dtype=object)
    f = parsed.fields

    def reject(mask, field: str, reason: str) -> None:
        new = np.flatnonzero(mask & ~bad)
        if new.size:
            bad[new], fields[new], reasons[new] = True, field, reason

    cols = {k: _column(parsed.columns.get(k), n) for k in
            ("source", "destination", "source_port", "destination_port", "protocol", "kind", "function", "object",
             "value", "user", "status", "message")}
    # time
    ns, problem = _times(parsed.time if parsed.time is not None else [None] * n, parsed.time_kind, tz, year)
    for code, why in _TIME_REASONS.items():
        reject(problem == code, f.get("time_utc", "time"), why)
    # required fields
    for col in parsed.required:
        reject(_blank(cols[col]), f.get(col, col), "missing")
    # addresses and ports
    for col in ("source", "destination"):
        cols[col], ok = _addresses(cols[col], col in parsed.hosts)
        reject(~ok, f.get(col, col), "not an IPv4/IPv6 address" + (" or host name" if col in parsed.hosts else ""))
    ports = {}
    for col in ("source_port", "destination_port"):
        ports[col], ok = _ports(cols[col])
        reject(~ok, f.get(col, col), "not an integer port in 0-65535")
    for field, mask, why in parsed.checks:
        reject(np.asarray(mask, dtype=bool), field, why)
    # protocol, function, kind
    codes, uniques = pd.factorize(cols["protocol"], use_na_sentinel=True)
    clean = [str(u).strip().lower() for u in uniques] + ["other"]
    malformed = np.array([not _PROTOCOL_NAME.match(c) for c in clean], dtype=bool)[codes]
    reject(malformed, f.get("protocol", "protocol"), "not a protocol name (letters, digits, '_', '.', '-')")
    proto = np.array([c if c in PROTOCOLS else "other" for c in clean], dtype=object)[codes]
    kind = cols["kind"]
    function = cols["function"]
    status = cols["status"]
    todo = np.fromiter((k is None for k in kind), dtype=bool, count=n)
    if todo.any():
        idx = np.flatnonzero(todo)
        names = np.array(["" if v is None else (v if v.__class__ is str else str(v)) for v in function[idx]],
                         dtype=object)
        key = pd.MultiIndex.from_arrays([proto[idx], names])
        kcodes, pairs = pd.factorize(key)
        table = [normalise_function(p, fn) for p, fn in pairs]
        func_u = np.array([t[0] if t[0] else None for t in table], dtype=object)
        kind_u = np.array([t[1] for t in table], dtype=object)
        hint_u = np.array([t[2] for t in table], dtype=object)
        function[idx] = func_u[kcodes]
        kind[idx] = kind_u[kcodes]
        hint = hint_u[kcodes]
        take = np.fromiter((h is not None for h in hint), dtype=bool, count=len(hint))
        status[idx[take]] = hint[take]
    # IEC 104 select/execute (S/E bit) and IEC 61850 control writes over MMS
    flags = parsed.columns.get("select_execute")
    if flags is not None and n:
        flags = _column(flags, n)
        for i in np.flatnonzero((proto == "iec104") & ~_blank(flags)):
            kind[i] = select_execute_kind(function[i], kind[i], flags[i])
    mms_write = (proto == "mms") & (kind == "write")
    if mms_write.any():
        objects = ["" if v is None else str(v) for v in cols["object"][mms_write]]
        ctl = pd.Series(objects, dtype=object).str.extract(_OPERATE_OBJECT)
        kind[np.flatnonzero(mms_write)] = np.where(ctl["ctl"].isin(["SBO", "SBOw"]), "select",
                                                   np.where(ctl["ctl"] == "Oper", "operate", "write"))
    kind = _known(kind, KINDS)
    cols["function"], cols["status"] = function, status
    # text bounds
    truncated: dict[str, Any] = {}
    for col in _TEXT_COLUMNS:
        cols[col], truncated[col] = _text_column(cols[col], MAX_MESSAGE_CHARS if col == "message" else MAX_FIELD_CHARS)

    keep = ~bad
    every = keep.all()
    sel = (lambda a: a) if every else (lambda a: a[keep])  # noqa: E731
    formats = _column(parsed.formats, n)
    records = pd.DataFrame({
        "time_utc": pd.DatetimeIndex(sel(ns)).tz_localize("UTC"),
        "source": sel(cols["source"]),
        "destination": sel(cols["destination"]),
        "source_port": pd.array(sel(ports["source_port"]), dtype="Int64"),
        "destination_port": pd.array(sel(ports["destination_port"]), dtype="Int64"),
        "protocol": sel(proto),
        "kind": sel(kind),
        "function": sel(cols["function"]),
        "object": sel(cols["object"]),
        "value": sel(cols["value"]),
        "user": sel(cols["user"]),
        "status": sel(cols["status"]),
        "format": sel(formats),
        "file": np.full(int(keep.sum()), name, dtype=object),
        "line": sel(line),
        "message": sel(cols["message"]),
    }, columns=list(COLUMNS), copy=False)
    # rejected: line-level first, then per field; in line order
    listed = list(parsed.rejected)
    listed += [(int(line[i]), fields[i], reasons[i]) for i in np.flatnonzero(bad)]
    listed.sort(key=lambda r: r[0])
    by_field: dict[str, int] = {}
    for _, fd, _ in listed:
        by_field[fd] = by_field.get(fd, 0) + 1
    rejected = [RejectedLine(file=name, line=ln, field=fd, reason=rs) for ln, fd, rs in listed[:MAX_LISTED]]
    cut = {c: int((m & keep).sum()) for c, m in truncated.items() if (m & keep).any()}
    flagged = sorted((int(line[i]), c) for c, m in truncated.items() for i in np.flatnonzero(m & keep)[:MAX_LISTED])
    counts = LogCounts(file=name, format=fmt, read=n + len(parsed.rejected), accepted=len(records),
                       rejected=len(listed), rejected_by_field=by_field,
                       by_format=_value_counts(records["format"]), by_protocol=_value_counts(records["protocol"]),
                       by_kind=_value_counts(records["kind"]), truncated=cut)
    return LogBatch(records=records, rejected=rejected, counts=counts, format=fmt, truncated=flagged[:MAX_LISTED])


def _known(values, allowed) -> Any:
    """Values outside ``allowed`` (None included) replaced by 'other' (one check per distinct value)."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.array([u if u in allowed else "other" for u in uniques] + ["other"], dtype=object)
    return table[codes]


def _value_counts(column) -> dict[str, int]:
    return {str(k): int(v) for k, v in column.value_counts(sort=True).items()}


def read_logs(source, format: Format = "auto", tz: str | None = None, *, year: int | None = None) -> LogBatch:
    """Read, parse and validate a batch of logs into the record contract, keeping every good record.

    Parameters
    ----------
    source : str, pathlib.Path, bytes or list of dict
        A file under a data root (:func:`gridsage.tools.paths.readable_file`; a ``str`` without a newline is a
        path), the log text itself (a ``str`` holding a newline, or ``bytes``, UTF-8; undecodable bytes become
        U+FFFD), or JSON-like objects (Zeek, Suricata, Windows, or protocol records with the CSV's keys).
    format : {'auto', 'syslog', 'zeek', 'suricata', 'windows_csv', 'windows_json', 'protocol_csv'}, default 'auto'
        'auto' detects the format from the content's first lines (never the file name).
    tz : str, optional
        IANA zone of times without an offset (RFC 3164 timestamps, naive ISO or Windows times); without it such
        records are rejected.
    year : int, optional
        Year of RFC 3164 timestamps; default the current UTC year (previous year for a time more than one day
        ahead of now).

    Returns
    -------
    LogBatch
        ``records`` (:data:`COLUMNS`), ``rejected`` (file, line, field, reason), ``counts``
        (``read == accepted + rejected``), ``format``.

    Raises
    ------
    InputError
        If the file is outside the data roots or unreadable, the format is unknown or not detected, a required
        column (protocol CSV: time, source, destination, protocol, function, object, value; Windows: TimeCreated,
        Id, MachineName) is absent, or ``tz`` is unknown.  No message quotes the log.
    RequestTooLargeError
        If the source has more than :data:`MAX_LINES` lines or :data:`MAX_BYTES` bytes.

    Notes
    -----
    ``counts.read = counts.accepted + counts.rejected``.  Records keep input order; each rejected record names the
    first failing check in the order: line syntax, time, required fields, source, destination, ports, protocol.
    Kinds follow the tables of :mod:`gridsage.tools.cyber._formats` (e.g. Modbus 6 -> 'write', DNP3 5 ->
    'operate', IEC 104 type 45 with S/E = 1 -> 'select', Windows 4625 -> 'login_failure').
    """
    if format not in FORMATS:
        raise InputError(f"unknown format {format!r}", field="format", fix="use one of " + ", ".join(FORMATS) + ".")
    if tz is not None:
        _zone(tz)
    if year is not None and not (isinstance(year, int) and 1970 <= year <= 2100):
        raise InputError(f"year {year!r} is not in 1970-2100", field="year", fix="give the year of the RFC 3164 log.")
    data, name = _load(source)
    parsed, fmt = _parse(data, format)
    if len(parsed.line) > MAX_LINES:
        raise RequestTooLargeError(f"more than {MAX_LINES:,} records", field="source",
                                   fix=f"split the logs into batches of at most {MAX_LINES:,} records.")
    return _validate(parsed, name, fmt, tz, year)


# --------------------------------------------------------------------------------------------------------------- tool
class LogIngestResult(ToolResult):
    """Counts, formats, time span and the first rejected lines of one log file."""

    counts: LogCounts
    summary: str
    first_utc: datetime | None = Field(default=None, description="Earliest accepted record [UTC].")
    last_utc: datetime | None = Field(default=None, description="Latest accepted record [UTC].")
    sources: int = Field(description="Distinct source addresses/hosts among accepted records.")
    rejected_rows: list[RejectedLine] = Field(description="The first max_rows rejected lines, in line order "
                                                          "(counts.rejected has them all).")


@tool
def ingest_logs(
    path: Annotated[str, Field(description="Log file under a data root (GRIDSAGE_DATA_DIRS): syslog, Zeek (TSV or "
                                           "JSON), Suricata EVE JSON, Windows event export (CSV/JSON) or "
                                           "protocol-record CSV (IEC 104, Modbus, DNP3, MMS).")],
    format: Annotated[Format, Field(description="Log format; 'auto' detects it from the content.")] = "auto",
    tz: Annotated[str | None, Field(description="IANA zone of times without an offset (RFC 3164 syslog, naive "
                                                "Windows times), e.g. 'Europe/Paris'; default: such lines are "
                                                "rejected.")] = None,
    max_rows: Annotated[int, Field(ge=0, le=1000, description="Rejected lines to list (all are counted).")] = 50,
) -> LogIngestResult:
    """Validate a security/OT log file: how many records were kept, of which formats, protocols and kinds, over which
    time span, and why the others were rejected (line and field, never the line's text).

    Parameters
    ----------
    path : str
        Log file under a data root, at most :data:`MAX_LINES` lines and :data:`MAX_BYTES` bytes.
    format : str, default 'auto'
    tz : str, optional
    max_rows : int, default 50

    Returns
    -------
    LogIngestResult
        ``status`` 'ok' (every record kept), 'rows_rejected' or 'all_rejected'.

    Raises
    ------
    InputError
        As :func:`read_logs`.
    RequestTooLargeError
        As :func:`read_logs`.
    """
    batch = read_logs(path, format=format, tz=tz)
    c = batch.counts
    records = batch.records
    first = records["time_utc"].min().to_pydatetime() if len(records) else None
    last = records["time_utc"].max().to_pydatetime() if len(records) else None
    why = ", ".join(f"{k}: {v:,}" for k, v in c.rejected_by_field.items())
    summary = (f"{c.read:,} records read from {c.file} ({c.format}): {c.accepted:,} accepted, {c.rejected:,} rejected"
               + (f" ({why})" if why else ""))
    status = "ok" if not c.rejected else ("all_rejected" if not c.accepted else "rows_rejected")
    return LogIngestResult(status=status, counts=c, summary=summary, first_utc=first, last_utc=last,
                           sources=int(records["source"].nunique()), rejected_rows=batch.rejected[:max_rows])
