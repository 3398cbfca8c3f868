"""Grid impact of control commands seen in OT logs: what a breaker command does to the grid it reaches.

A command in the logs (a Modbus coil write, a DNP3 CROB, an IEC 60870-5-104 single or double command, an IEC 61850
``Pos`` control over MMS) names an outstation (``destination``) and a point (``object``).  A *point map*
(:func:`read_point_map`) says which pandapower element each point operates: ``'switch:3'``, ``'line:5'``,
``'trafo:1'``, ``'trafo3w:0'``, ``'gen:1'`` or ``'sgen:2'``.  :func:`command_action` reads whether the command
opens or closes, from each protocol's own encoding; :func:`assess_command_impacts` applies each distinct
(element, action) to a copy of the net and reports:

* topology: the buses de-energised and the load cut off [MW] (pandapower's networkx graph, switches respected:
  buses no longer connected to an in-service ext_grid or slack gen), the sources lost with them, a blackout;
* an AC power flow of the resulting state with generator Q limits enforced (the grid tools' own solver ladder,
  :func:`gridsage.tools.grid.power_flow.solve`, and violation checks, :func:`gridsage.tools.grid.solved_violations`):
  highest loading, voltage extremes, violations with their limits' citations;
* N-1 on the resulting state (:func:`gridsage.tools.grid.contingency.run_contingency_analysis`, run in a private
  workspace so the caller's grids and ledger are untouched): outages that add violations or have no solution, the
  worst outage and its loading;
* telemetry, when given: did the element actually open (flow or current to about zero) or close after the command.

Every log-derived string in a result passes through :func:`gridsage.tools.cyber._untrusted.shown`; the ``message``
column is never read.

References
----------
.. [1] Modbus Organization, MODBUS Application Protocol Specification V1.1b3 (2012), clause 6.5 (05 Write Single
   Coil: 0xFF00 ON, 0x0000 OFF; any other value is illegal).
.. [2] IEEE Std 1815-2012 (DNP3), Annex A group 12 variation 1 (CROB control code: op type bits 0-3, 3 LATCH_ON,
   4 LATCH_OFF; trip-close code bits 6-7, 1 CLOSE, 2 TRIP).
.. [3] IEC 60870-5-101:2003 clause 7.2.6.15 (SCO: SCS bit 0, 0 OFF, 1 ON; S/E bit 7) and 7.2.6.16 (DCO: DCS 1 OFF,
   2 ON, 0 and 3 not permitted); IEC 60870-5-104:2006 uses the same ASDUs.
.. [4] IEC 61850-7-4:2010 XCBR/XSWI/CSWI data object ``Pos`` (DPC), IEC 61850-7-3 DPC ``ctlVal`` BOOLEAN
   (false = off/open, true = on/close); IEC 61850-7-2:2010 clause 20 (select-before-operate: SBOw, then Oper);
   IEC 61850-8-1:2011 (MMS mapping, ``$``-separated references with functional constraint ``CO``).
.. [5] L. Thurner et al., "pandapower", IEEE Trans. Power Syst. 33(6), 2018 (topology, runpp).
.. [6] NERC TPL-001-5.1 Table 1 (P1 single contingency; facility ratings); ANSI C84.1-2020 Table 1 Range A.
"""

from __future__ import annotations

import copy
import io
import ipaddress
import os
import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gridsage.errors import InputError, RequestTooLargeError, UnknownElementError
from gridsage.tools.cyber._untrusted import shown

__all__ = ["ELEMENT_KINDS", "MAX_IMPACTS", "MAX_N1", "CommandImpact", "assess_command_impacts", "command_action",
           "mapped_commands", "point_key", "read_point_map"]

#: pandapower element kinds a point may operate
ELEMENT_KINDS = ("switch", "line", "trafo", "trafo3w", "gen", "sgen")
#: most (element, action) pairs assessed per call (the rest are counted by :func:`mapped_commands`)
MAX_IMPACTS = 20
#: most resulting states studied for N-1 per call (those cutting off the most load); an N-1 of a grid with several
#: ext_grids runs the pandapower loop (about 10-16 s for mv_oberrhein's 183 branches on this machine)
MAX_N1 = 3
#: most point-map rows read
MAX_POINTS = 100_000
#: violations listed per impact (the count covers all)
VIOLATIONS_LISTED = 5
#: telemetry: how long after a command the element must have settled [s]
CONFIRM_WINDOW_S = 60.0
#: telemetry: a flow below these counts as zero (active power [MW], current [A], loading [%]) ...
ZERO_ABS = {"active_power": 0.01, "current": 1.0, "loading": 1.0}
#: ... or below this share of the flow before the command [-]
ZERO_REL = 0.02
#: corpus entries every impact rests on: ATT&CK for ICS T0855 / T0831 (what the command is), TPL-001 P1 (the N-1)
IMPACT_CITATIONS = ("attack-ics-t0855-unauthorized-command-message", "attack-ics-t0831-manipulation-of-control",
                    "nerc-tpl-001-p1-single-contingency")

Action = Literal["open", "close"]
_ELEMENT = re.compile(r"^\s*(switch|line|trafo3w|trafo|gen|sgen)\s*[:\s]\s*(\d{1,9})\s*$", re.I)
_FC = {"co", "st", "mx", "sp", "cf", "dc", "ex", "sg", "se", "sv", "bl", "or", "sr", "br", "rp", "lg", "go", "ms", "us"}
_CONTROL_TAIL = {"oper", "sbow", "sbo", "cancel", "ctlval", "stval", "origin", "ctlnum", "t", "test", "check"}
_DNP3_POINT = re.compile(r"^g(\d{1,3})(?:v\d{1,3})?\s*[:/.\s]\s*(?:i(?:ndex)?\s*)?(\d{1,9})$")


# ------------------------------------------------------------------------------------------------------ point naming
def point_key(object_name) -> str | None:
    """The point an object names, in a form that matches across the spellings of one protocol.

    Parameters
    ----------
    object_name : str
        The point as a log or a point map names it: a Modbus coil or register (``'00017'``), a DNP3 object and
        index (``'g12v1:1'``), an IEC 104 information object address (``'2001'``), an IEC 61850 reference
        (``'LD0/CSWI1.Pos.Oper'``, ``'LD0/CSWI1$CO$Pos$Oper'``, ``'LD0/CSWI1.Pos'``).

    Returns
    -------
    str or None
        Lower case; a number without its leading zeros (``'00017'`` -> ``'17'``); DNP3 ``g<group>:<index>`` without
        the variation (``'g12v1:1'`` -> ``'g12:1'``); an IEC 61850 reference with ``$`` read as ``.``, without its
        functional constraint (``CO``, ``ST``, ...) and without the control service or attribute that ends it
        (``Oper``, ``SBOw``, ``SBO``, ``Cancel``, ``ctlVal``, ``stVal``): ``'ld0/cswi1.pos'``.  None when empty.
    """
    if object_name is None:
        return None
    text = str(object_name).strip().lower()
    if not text or text in ("nan", "<na>", "none"):
        return None
    if text.isdigit():
        return str(int(text))
    dnp3 = _DNP3_POINT.match(text)
    if dnp3:
        return f"g{int(dnp3[1])}:{int(dnp3[2])}"
    if "/" in text or "$" in text or "." in text:
        head, sep, tail = text.rpartition("/")
        parts = [p for p in re.split(r"[.$]", tail) if p]
        if parts:
            keep = [parts[0]] + [p for p in parts[1:] if p not in _FC]
            while len(keep) > 1 and keep[-1] in _CONTROL_TAIL:
                keep.pop()
            return head + sep + ".".join(keep)
    return text


def _ln_key(key: str) -> str | None:
    """An IEC 61850 point key cut to its logical node (``'ld0/cswi1.pos'`` -> ``'ld0/cswi1'``), else None."""
    if "/" not in key:
        return None
    head, _, tail = key.rpartition("/")
    ln = tail.split(".")[0]
    return f"{head}/{ln}" if ln and ln != tail else None


def _host_key(value) -> str | None:
    """An outstation address or host as a matching key: IP addresses in compressed form, host names lower case."""
    if value is None:
        return None
    text = str(value).strip()
    if not text or text.lower() in ("nan", "<na>", "none"):
        return None
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        return text.lower().rstrip(".")


def _load_text(source, field: str):
    """(text or DataFrame, name) of a point-map or table argument."""
    import pandas as pd

    from gridsage.tools.paths import readable_file

    if isinstance(source, pd.DataFrame):
        return source, "<table>"
    if isinstance(source, (bytes, bytearray)):
        return bytes(source).decode("utf-8", errors="replace"), "<text>"
    if isinstance(source, str) and ("\n" in source or "\r" in source):
        return source, "<text>"
    if isinstance(source, (str, os.PathLike)):
        path = readable_file(source, field, suffixes=(".csv", ".txt"))
        if path.stat().st_size > 64 * 2**20:
            raise RequestTooLargeError(f"{path.name} is larger than 64 MiB", field=field,
                                       fix="give a point map of at most 100,000 rows.")
        try:
            return path.read_bytes().decode("utf-8", errors="replace"), path.name
        except OSError as exc:
            raise InputError(f"{path.name} cannot be read ({exc.strerror or type(exc).__name__})", field=field,
                             fix="check the file's permissions.") from None
    raise InputError(f"the {field} is a {type(source).__name__}", field=field,
                     fix="give a CSV file under a data root, the CSV text itself, or a pandas DataFrame.")


def read_point_map(source, net=None, *, field: str = "point_map"):
    """Read and validate a point map: which grid element each outstation point operates.

    Parameters
    ----------
    source : str, pathlib.Path, bytes or pandas.DataFrame
        A CSV file under a data root (:func:`gridsage.tools.paths.readable_file`, suffix .csv or .txt), the CSV text
        itself (a ``str`` holding a newline), or a DataFrame.  Columns (case-insensitive, others ignored):
        ``destination`` (the outstation's address or host as the logs give it), ``object`` (the point as the logs
        name it, see :func:`point_key`), ``element`` (``'<kind>:<index>'``, kind one of :data:`ELEMENT_KINDS`),
        optional ``description``.  Lines starting with ``#`` are comments.
    net : pandapower.pandapowerNet, optional
        When given, every element must exist in it.
    field : str, default 'point_map'
        Argument name for errors.

    Returns
    -------
    pandas.DataFrame
        One row per point, in file order: ``destination``, ``object`` (as given), ``destination_key``,
        ``point_key`` (matching keys), ``element`` (``'switch:3'``), ``element_kind``, ``element_index`` (int),
        ``description``, ``line`` (1-based line in the CSV, header = 1).

    Raises
    ------
    InputError
        If a required column is absent, a row has a blank destination, object or element, an element is not
        ``'<kind>:<index>'`` with a known kind, or a (destination, object) pair appears twice.  The message names
        the line and the field, never the content.
    UnknownElementError
        If ``net`` is given and an element is not in it.
    RequestTooLargeError
        If the map has more than :data:`MAX_POINTS` rows.
    """
    import pandas as pd

    data, name = _load_text(source, field)
    if isinstance(data, pd.DataFrame):
        frame = data.astype(object).where(data.notna(), None)
        first_line = 2
    else:
        lines = [ln for ln in data.splitlines()]
        kept = [(n, ln) for n, ln in enumerate(lines, 1) if ln.strip() and not ln.lstrip().startswith("#")]
        if not kept:
            raise InputError(f"the point map {name} has no header row", field=field,
                             fix="give a CSV with the header destination,object,element[,description].")
        numbers = [n for n, _ in kept]
        try:
            frame = pd.read_csv(io.StringIO("\n".join(ln for _, ln in kept)), dtype=str, keep_default_na=False,
                                skipinitialspace=True)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeError, ValueError) as exc:
            at = re.search(r"line (\d+)", str(exc))
            where = f" at line {numbers[int(at[1]) - 1]}" if at and int(at[1]) <= len(numbers) else ""
            raise InputError(f"the point map {name} is not a readable CSV{where}", field=field,
                             fix="give one row per point with the same number of comma-separated fields as the "
                                 "header (quote fields holding commas).") from None
        frame.attrs["lines"] = numbers[1:]
    if len(frame) > MAX_POINTS:
        raise RequestTooLargeError(f"the point map has {len(frame):,} rows; at most {MAX_POINTS:,} are read",
                                   field=field, fix="split it or keep only the points the logs can reach.")
    frame = frame.rename(columns={c: str(c).strip().lower() for c in frame.columns})
    missing = [c for c in ("destination", "object", "element") if c not in frame.columns]
    if missing:
        raise InputError(f"the point map {name} has no column {', '.join(missing)}", field=f"{field}.{missing[0]}",
                         fix="name the columns destination,object,element[,description].")
    line_numbers = frame.attrs.get("lines") or list(range(2, 2 + len(frame)))
    rows, seen = [], {}
    for pos, (destination, obj, element) in enumerate(zip(frame["destination"], frame["object"], frame["element"])):
        line = line_numbers[pos] if pos < len(line_numbers) else first_line + pos
        for column, value in (("destination", destination), ("object", obj), ("element", element)):
            if value is None or not str(value).strip() or str(value).strip().lower() in ("nan", "<na>"):
                raise InputError(f"line {line} of the point map {name} has no {column}", field=f"{field}.{column}",
                                 fix=f"give the {column} on every row (line {line}).")
        match = _ELEMENT.match(str(element))
        if not match:
            raise InputError(f"line {line} of the point map {name}: the element is not '<kind>:<index>' with a kind "
                             f"of {', '.join(ELEMENT_KINDS)}", field=f"{field}.element",
                             fix=f"write the element as e.g. 'switch:3' or 'line:5' (line {line}).")
        kind, index = match[1].lower(), int(match[2])
        key = (_host_key(destination), point_key(obj))
        if key in seen:
            raise InputError(f"lines {seen[key]} and {line} of the point map {name} name the same destination and "
                             "object", field=f"{field}.object",
                             fix="give each outstation point once (one element per point).")
        seen[key] = line
        description = frame["description"].iloc[pos] if "description" in frame.columns else None
        rows.append({"destination": str(destination).strip(), "object": str(obj).strip(), "destination_key": key[0],
                     "point_key": key[1], "element": f"{kind}:{index}", "element_kind": kind, "element_index": index,
                     "description": None if description is None or not str(description).strip() else str(description),
                     "line": line})
    out = pd.DataFrame(rows, columns=["destination", "object", "destination_key", "point_key", "element",
                                      "element_kind", "element_index", "description", "line"])
    if net is not None:
        for row in rows:
            table = net[row["element_kind"]]
            if row["element_index"] not in table.index:
                raise UnknownElementError(f"line {row['line']} of the point map {name}: {row['element']} is not in "
                                          "the grid", field=f"{field}.element",
                                          fix=f"map the point to an existing {row['element_kind']} index "
                                              f"(the grid has {len(table)}).")
    return out


# ---------------------------------------------------------------------------------------------------- command action
_DNP3_OPERATE = {"SELECT": None, "OPERATE": True, "DIRECT_OPERATE": True, "DIRECT_OPERATE_NR": True,
                 "3": None, "4": True, "5": True, "6": True}
_IEC104_SINGLE = {"C_SC_NA_1", "C_SC_TA_1", "45", "58"}
_IEC104_DOUBLE = {"C_DC_NA_1", "C_DC_TA_1", "46", "59"}
_MMS_OPERATE = re.compile(r"(?:^|[.$])oper(?:[.$]ctlval)?$", re.I)
_MMS_SELECT = re.compile(r"(?:^|[.$])(?:sbow|sbo|cancel)(?:[.$]ctlval)?$", re.I)
_MMS_POS = re.compile(r"(?:^|[.$])pos(?:$|[.$])", re.I)


def _int(text: str) -> int | None:
    """A decimal or 0x-prefixed hexadecimal integer, else None."""
    t = text.strip().lower()
    try:
        return int(t, 16) if t.startswith("0x") else int(t)
    except ValueError:
        return None


def command_action(protocol, function, object=None, value=None) -> Action | None:  # noqa: A002 (the contract's name)
    """Whether a logged command opens or closes the element its point operates, from the protocol's own encoding.

    Parameters
    ----------
    protocol : str
        ``'modbus'``, ``'dnp3'``, ``'iec104'`` or ``'mms'`` (any other: None).
    function : str
        As the record contract gives it: Modbus decimal code (``'5'``; ``'0x05'`` and ``'write_single_coil'`` too),
        DNP3 name or code (``'DIRECT_OPERATE'``, ``'5'``), IEC 104 type (``'C_SC_NA_1'``, ``'45'``), MMS service
        (``'write'``).
    object : str, optional
        The point (DNP3: a group other than 12 is no breaker command; MMS: must address a ``Pos`` control).
    value : str, optional
        The value written (see Notes).

    Returns
    -------
    {'open', 'close'} or None
        None when the record is no open/close command: another function, a select (it operates nothing), an
        illegal or unreadable value.

    Notes
    -----
    * Modbus function 5, Write Single Coil: value 0xFF00 (``'FF00'``, ``'0xFF00'``, ``'65280'``) = ON = close,
      0x0000 = OFF = open; any other value is illegal [1]_.  The boolean renderings ``true``/``on``/``1`` and
      ``false``/``off`` some loggers write are read the same way.
    * DNP3 CROB (group 12) with OPERATE, DIRECT_OPERATE or DIRECT_OPERATE_NR: control code names TRIP or
      LATCH_OFF = open, CLOSE or LATCH_ON = close (a combined name such as ``TRIP_PULSE_ON`` by its trip-close
      part); a numeric control code by its trip-close bits 6-7 (1 CLOSE, 2 TRIP), else its op type (3 LATCH_ON,
      4 LATCH_OFF); PULSE_ON/OFF alone say nothing about open or close [2]_.  SELECT operates nothing: None.
    * IEC 104 single command C_SC_NA_1 / C_SC_TA_1: SCO value, SCS = bit 0 (0 OFF = open, 1 ON = close); S/E =
      bit 7 set is a select: None.  Double command C_DC_NA_1 / C_DC_TA_1: DCS = bits 0-1, 1 OFF = open, 2 ON =
      close, 0 and 3 not permitted [3]_.
    * MMS write to ``<LD>/<LN>.Pos.Oper`` (or ``$CO$Pos$Oper``, with or without ``.ctlVal``): ctlVal ``false``/``0``
      = open, ``true``/``1`` = close; SBOw/SBO/Cancel: None [4]_.

    References
    ----------
    .. [1] MODBUS Application Protocol Specification V1.1b3, clause 6.5.
    .. [2] IEEE Std 1815-2012, Annex A, g12v1 control code.
    .. [3] IEC 60870-5-101:2003 clauses 7.2.6.15 (SCO) and 7.2.6.16 (DCO).
    .. [4] IEC 61850-7-3 (DPC ctlVal), IEC 61850-7-2:2010 clause 20, IEC 61850-8-1:2011.
    """
    if protocol is None or function is None or value is None:
        return None
    proto = str(protocol).strip().lower()
    func = str(function).strip()
    val = str(value).strip()
    if not val or val.lower() in ("nan", "<na>", "none"):
        return None
    low = val.lower()
    if proto == "modbus":
        code = _int(func)
        if code != 5 and func.strip().lower() not in ("write_single_coil", "write single coil"):
            return None
        if low in ("true", "on", "1"):
            return "close"
        if low in ("false", "off"):
            return "open"
        if low.startswith("0x"):
            number = _int(val)
        elif re.fullmatch(r"[0-9a-f]{4}", low):  # the register image as 4 hex digits: 'FF00', '0000'
            number = int(low, 16)
        else:
            number = _int(val)
        return {0: "open", 0xFF00: "close"}.get(number)
    if proto == "dnp3":
        operate = _DNP3_OPERATE.get(func.upper().replace(" ", "_"))
        if not operate:
            return None
        if object is not None:
            group = re.match(r"^\s*g(\d{1,3})", str(object), re.I)
            if group and int(group[1]) != 12:
                return None
        name = low.upper().replace("-", "_").replace(" ", "_")
        tokens = set(name.split("_")) | {name}
        if "TRIP" in tokens or "LATCH_OFF" in tokens or ("LATCH" in tokens and "OFF" in tokens):
            return "open"
        if "CLOSE" in tokens or "LATCH_ON" in tokens or ("LATCH" in tokens and "ON" in tokens):
            return "close"
        code = _int(val)
        if code is None or not 0 <= code <= 255:
            return None
        trip_close, op_type = (code >> 6) & 3, code & 0x0F
        if trip_close == 1:
            return "close"
        if trip_close == 2:
            return "open"
        return {3: "close", 4: "open"}.get(op_type) if trip_close == 0 else None
    if proto == "iec104":
        kind = func.upper()
        if kind not in _IEC104_SINGLE and kind not in _IEC104_DOUBLE:
            return None
        words = {"on": 1, "off": 0, "true": 1, "false": 0}
        number = words.get(low, _int(val))
        if number is None or not 0 <= number <= 255:
            return None
        if number & 0x80:  # S/E = 1: select, operates nothing
            return None
        if kind in _IEC104_SINGLE:
            return "close" if number & 1 else "open"
        if low in words:
            return "close" if number else "open"
        return {1: "open", 2: "close"}.get(number & 3)
    if proto == "mms":
        if func.lower() != "write" or object is None:
            return None
        obj = str(object).strip()
        if not _MMS_POS.search(obj) or _MMS_SELECT.search(obj) or not _MMS_OPERATE.search(obj):
            return None
        if low in ("true", "1", "on"):
            return "close"
        if low in ("false", "0", "off"):
            return "open"
        return None
    return None


# --------------------------------------------------------------------------------------------------------- matching
def mapped_commands(commands, point_map):
    """The open/close commands among ``commands`` and the element each one operates.

    Parameters
    ----------
    commands : pandas.DataFrame
        Records of the record contract (at least ``time_utc``, ``source``, ``destination``, ``protocol``,
        ``function``, ``object``, ``value``; ``kind`` when present: 'select' rows are skipped).
    point_map : pandas.DataFrame
        From :func:`read_point_map`.

    Returns
    -------
    (pandas.DataFrame, int)
        The commands that open or close a mapped point, in time order, with the added columns ``action``,
        ``element``, ``element_kind``, ``element_index``, ``description``, ``row`` (position in ``commands``); and
        the number of open/close commands whose (destination, point) is not in the map.
    """
    import pandas as pd

    cols = ["row", "time_utc", "source", "destination", "protocol", "function", "object", "value", "action",
            "element", "element_kind", "element_index", "description"]
    if commands is None or not len(commands):
        return pd.DataFrame(columns=cols), 0
    frame = commands.reset_index(drop=True)
    lookup = {(d, p): i for i, (d, p) in enumerate(zip(point_map["destination_key"], point_map["point_key"]))}
    column = {c: (frame[c] if c in frame.columns else pd.Series([None] * len(frame))).tolist()
              for c in ("time_utc", "source", "destination", "protocol", "function", "object", "value", "kind")}
    actions: dict[tuple, Any] = {}  # one decision per distinct (protocol, function, object, value)
    points: dict[tuple, Any] = {}  # one lookup per distinct (destination, object)
    rows, unmapped = [], 0
    for pos, (proto, func, obj, val, kind, dest) in enumerate(zip(
            column["protocol"], column["function"], column["object"], column["value"], column["kind"],
            column["destination"])):
        if kind == "select":
            continue
        key = (proto, func, obj, val)
        if key not in actions:
            actions[key] = command_action(proto, func, obj, val)
        action = actions[key]
        if action is None:
            continue
        where = (dest, obj)
        if where not in points:
            host, point = _host_key(dest), point_key(obj)
            hit = lookup.get((host, point))
            if hit is None and point is not None and _ln_key(point) is not None:
                hit = lookup.get((host, _ln_key(point)))
            points[where] = (host, hit)
        host, hit = points[where]
        if hit is None:
            unmapped += 1
            continue
        m = point_map.iloc[hit]
        rows.append({"row": pos, "time_utc": column["time_utc"][pos], "source": column["source"][pos],
                     "destination": host, "protocol": proto, "function": func, "object": obj, "value": val,
                     "action": action, "element": m["element"], "element_kind": m["element_kind"],
                     "element_index": int(m["element_index"]), "description": m["description"]})
    out = pd.DataFrame(rows, columns=cols)
    if len(out):
        out = out.sort_values(["time_utc", "row"], kind="stable", ignore_index=True)
    return out, unmapped


# ---------------------------------------------------------------------------------------------------------- impacts
class ImpactViolation(BaseModel):
    """A limit broken in the state a command leaves (as the grid tools report it), with its citation's entry id."""

    kind: Literal["undervoltage", "overvoltage", "thermal"]
    element: str = Field(description="Short label, e.g. 'line 7' or 'bus 12'.")
    value: float = Field(description="Value [pu for voltage, % of rating for thermal].")
    limit: float = Field(description="The limit broken [same unit].")
    citation: str | None = Field(description="Standards-corpus entry id of the limit, e.g. 'ansi-c84-1-range-a'.")


class CommandImpact(BaseModel):
    """What one commanded (element, action) does to the grid: topology, power flow, N-1, telemetry."""

    model_config = ConfigDict(extra="forbid")

    detection_id: str | None = Field(default=None, description="Detection the first such command belongs to.")
    time_utc: datetime = Field(description="First command of this element and action [UTC].")
    last_utc: datetime = Field(description="Last command of this element and action [UTC].")
    commands: int = Field(description="Log records commanding this element and action.")
    source: str | None = Field(description="Sender of the first command (shown()).")
    destination: str | None = Field(description="Outstation (shown()).")
    protocol: str | None = None
    object: str | None = Field(description="Point as the log names it (shown()).")
    element: str = Field(description="pandapower element operated, e.g. 'switch:3'.")
    element_label: str = Field(description="Readable: 'switch 3 (line 5)'.")
    action: Literal["open", "close"]
    changed: bool = Field(description="False when the element was already in the commanded state.")
    status: Literal["converged", "diverged", "blackout", "unchanged"] = Field(
        description="AC power flow of the resulting state: 'blackout' when no energised bus is left.")
    converged: bool
    buses_deenergised: int = Field(description="Buses the command cuts off from every ext_grid / slack gen [-].")
    load_cut_mw: float = Field(description="Load served at those buses before the command (p_mw x scaling) [MW].")
    generation_cut_mw: float = Field(default=0.0, description="gen and sgen output at those buses [MW].")
    lost_sources: list[str] = Field(default_factory=list, description="ext_grid / gen cut off, e.g. 'ext_grid 0'.")
    blackout: bool = Field(default=False, description="True when no bus with load stays energised.")
    max_loading_percent: float | None = Field(default=None, description="Highest branch loading afterwards [%].")
    vm_min_pu: float | None = Field(default=None, description="Lowest energised bus voltage afterwards [pu].")
    vm_max_pu: float | None = Field(default=None, description="Highest energised bus voltage afterwards [pu].")
    violation_count: int = Field(default=0, description="Violations afterwards (all).")
    new_violation_count: int = Field(default=0, description="Of them, not present before the command.")
    violations: list[ImpactViolation] = Field(default_factory=list,
                                              description=f"The worst {VIOLATIONS_LISTED} afterwards.")
    n1_status: Literal["completed", "base_case_diverged", "not_run"] = "not_run"
    n1_contingencies: int = Field(default=0, description="Outages studied on the resulting state.")
    n1_insecure: int | None = Field(default=None, description="Outages that add a violation or have no solution.")
    n1_islanding: int | None = Field(default=None, description="Outages that cut buses off.")
    n1_worst: str | None = Field(default=None, description="Worst outage by the N-1 tool's ranking (load cut off "
                                                           "first, then added violations, then loading), e.g. 'line 7'.")
    n1_worst_loading_percent: float | None = Field(default=None, description="Highest loading after it [%]; None "
                                                                             "when it leaves no branch loaded.")
    n1_worst_lost_load_mw: float | None = Field(default=None, description="Load the worst outage cuts off [MW].")
    telemetry: Literal["confirmed", "not_confirmed", "no_data"] = "no_data"
    telemetry_detail: str | None = None
    consequence: str = Field(description="One sentence, numbers and element labels only.")
    citations: list[str] = Field(default_factory=list, description="Standards-corpus entry ids.")


def _element_label(net, kind: str, index: int) -> str:
    if kind == "switch" and index in net.switch.index:
        et, target = str(net.switch.at[index, "et"]), int(net.switch.at[index, "element"])
        what = {"l": f"line {target}", "t": f"trafo {target}", "t3": f"trafo3w {target}", "b": f"bus {target}"}.get(et)
        return f"switch {index} ({what})" if what else f"switch {index}"
    return f"{kind} {index}"


def _apply(net, kind: str, index: int, action: str) -> bool:
    """Apply the command to ``net`` in place; False when it was already in that state."""
    if kind == "switch":
        closed = action == "close"
        before = bool(net.switch.at[index, "closed"])
        net.switch.at[index, "closed"] = closed
        return before != closed
    live = action == "close"
    before = bool(net[kind].at[index, "in_service"])
    net[kind].at[index, "in_service"] = live
    return before != live


def _supply(net):
    """Energised buses (connected to an in-service ext_grid or slack gen, switches respected) of ``net``."""
    import pandapower.topology as top

    in_service = set(net.bus.index[net.bus.in_service.astype(bool)].tolist())
    return in_service - set(top.unsupplied_buses(net))


def _served_by_bus(net):
    """Load served per bus [MW]: p_mw x scaling of in-service loads (pandas.Series by bus)."""
    load = net.load[net.load.in_service.astype(bool)]
    return (load.p_mw * load.scaling).groupby(load.bus).sum()


def _gen_by_bus(net):
    parts = []
    for table in ("gen", "sgen"):
        t = net[table]
        if len(t):
            t = t[t.in_service.astype(bool)]
            parts.append((t.p_mw * (t.scaling if "scaling" in t else 1.0)).groupby(t.bus).sum())
    import pandas as pd

    return pd.concat(parts).groupby(level=0).sum() if parts else pd.Series(dtype=float)


def _lost_sources(net, base_supplied: set, after, cut: list, served) -> list[str]:
    """Sources a command takes away: gens cut off, and ext_grids / slack gens left feeding no load they fed before."""
    import networkx as nx
    import pandapower.topology as top

    lost = []
    gen = net.gen
    if len(gen):
        slack = gen.slack.astype(bool) if "slack" in gen else False
        lost += [f"gen {int(i)}" for i in gen.index[gen.in_service.astype(bool) & ~slack & gen.bus.isin(cut)]]
    roots = [(f"ext_grid {int(i)}", int(b)) for i, b in net.ext_grid.bus[net.ext_grid.in_service.astype(bool)].items()]
    if len(gen) and "slack" in gen:
        roots += [(f"gen {int(i)}", int(b)) for i, b in gen.bus[gen.in_service.astype(bool) & gen.slack.astype(bool)].items()]
    if not roots:
        return lost
    loaded = set(served.index[served > 0].tolist())
    before_graph, after_graph = top.create_nxgraph(net), top.create_nxgraph(after)
    for name, bus in roots:
        had = loaded & nx.node_connected_component(before_graph, bus) if bus in before_graph else set()
        has = loaded & nx.node_connected_component(after_graph, bus) if bus in after_graph else set()
        if had and not has:
            lost.append(name)
    return lost


def _brief(v) -> ImpactViolation:
    return ImpactViolation(kind=v.kind, element=f"{v.element} {v.index}", value=v.value, limit=v.limit,
                           citation=v.citation.entry_id if v.citation is not None else None)


def _telemetry_frame(telemetry):
    """Telemetry as a DataFrame with device_key, sensor_type, value, timestamp (None when not given)."""
    if telemetry is None:
        return None
    import pandas as pd

    frame = getattr(telemetry, "accepted", telemetry)
    if not isinstance(frame, pd.DataFrame):
        from gridsage.tools.telemetry.ingest import read_telemetry

        frame = read_telemetry(telemetry).accepted
    need = {"device_id", "sensor_type", "value", "timestamp"}
    if not need <= set(frame.columns):
        raise InputError("the telemetry table lacks " + ", ".join(sorted(need - set(frame.columns))),
                         field="telemetry", fix="give readings as read_telemetry returns them (device_id, "
                                                "sensor_type, value, unit, timestamp).")
    out = frame[frame["sensor_type"].astype(str).isin(list(ZERO_ABS))].copy()
    if "quality" in out.columns:
        out = out[out["quality"].astype(str) != "bad"]
    out["device_key"] = out["device_id"].astype(str).str.strip().str.lower().str.replace(r"\s*[:\s]\s*", ":",
                                                                                           regex=True)
    out["sensor_type"] = out["sensor_type"].astype(str)
    out["timestamp"] = pd.to_datetime(out["timestamp"], utc=True)
    return out.sort_values("timestamp", kind="stable")


def _confirm(readings, devices: list[str], action: str, when) -> tuple[str, str | None]:
    """('confirmed' | 'not_confirmed' | 'no_data', detail) from readings of ``devices`` around ``when``."""
    import numpy as np
    import pandas as pd

    if readings is None:
        return "no_data", None
    when = pd.Timestamp(when)
    when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
    end = when + pd.Timedelta(seconds=CONFIRM_WINDOW_S)
    for device in devices:
        rows = readings[readings["device_key"] == device]
        for sensor in ZERO_ABS:
            stream = rows[rows["sensor_type"] == sensor]
            after = stream[(stream["timestamp"] > when) & (stream["timestamp"] <= end)]
            if not len(after):
                continue
            before = stream[(stream["timestamp"] <= when) & (stream["timestamp"] > when - pd.Timedelta(minutes=5))]
            level = float(np.median(np.abs(before["value"].to_numpy(float)))) if len(before) else None
            tol = max(ZERO_ABS[sensor], ZERO_REL * level) if level is not None else ZERO_ABS[sensor]
            last = after.iloc[-1]
            value = abs(float(last["value"]))
            settled_open = value <= tol
            ok = settled_open if action == "open" else not settled_open
            unit = {"active_power": "MW", "current": "A", "loading": "%"}[sensor]
            dt = (last["timestamp"] - when).total_seconds()
            detail = (f"{device} {sensor} {value:.3g} {unit} at +{dt:.0f} s"
                      + (f" (before: {level:.3g} {unit})" if level is not None else "")
                      + f"; zero below {tol:.3g} {unit}")
            return ("confirmed" if ok else "not_confirmed"), detail
    return "no_data", f"no {', '.join(ZERO_ABS)} reading of {' or '.join(devices)} within {CONFIRM_WINDOW_S:.0f} s"


def _n1(net, band, thermal) -> dict:
    """N-1 of ``net`` (already a private copy) through the grid tool, in a private workspace."""
    from gridsage.tools.grid.contingency import run_contingency_analysis
    from gridsage.tools.workspace import Grid, Workspace, use_workspace

    workspace = Workspace(max_grids=1)
    with use_workspace(workspace):
        workspace.add(Grid(grid_id="after-command", source="command impact", net=net))
        result = run_contingency_analysis("after-command", top=1, exceptions_listed=0,
                                          vm_min_pu=band.lower, vm_max_pu=band.upper,
                                          max_loading_percent=thermal.upper)
    worst = result.top[0] if result.top else None
    return {"n1_status": result.status, "n1_contingencies": result.contingencies_total,
            "n1_insecure": result.with_violations_count + result.diverged_count if result.status == "completed"
            else None,
            "n1_islanding": result.islanding_count if result.status == "completed" else None,
            "n1_worst": f"{worst.outage.element} {worst.outage.index}" if worst else None,
            "n1_worst_loading_percent": round(worst.max_loading_percent, 1)
            if worst and worst.max_loading_percent is not None else None,
            "n1_worst_lost_load_mw": round(worst.lost_load_mw, 3) if worst and worst.lost_load_mw else None}


def assess_command_impacts(net, commands, point_map, telemetry=None, *, detection_ids=None, vm_min_pu=None,
                           vm_max_pu=None, max_loading_percent=None, max_impacts: int = MAX_IMPACTS,
                           max_n1: int = MAX_N1) -> list[CommandImpact]:
    """What each distinct commanded (element, action) does to the grid, on a copy of the net.

    Parameters
    ----------
    net : pandapower.pandapowerNet
        The grid before the commands (left unchanged).
    commands : pandas.DataFrame
        Log records (record contract); the open/close commands on mapped points are used (:func:`mapped_commands`).
    point_map : pandas.DataFrame, str or pathlib.Path
        From :func:`read_point_map` (or its source, read and checked against ``net``).
    telemetry : pandas.DataFrame or IngestResult, optional
        Readings as :func:`gridsage.tools.telemetry.ingest.read_telemetry` gives them; ``device_id`` names the
        element (``'switch:3'``, ``'line:5'``; for a switch, its line or trafo counts too), ``sensor_type``
        active_power [MW], current [A] or loading [%].
    detection_ids : sequence of str or str, optional
        Detection id per row of ``commands`` (same order), or one id for all.
    vm_min_pu, vm_max_pu : float, optional
        Voltage band [pu]; default the corpus figure (ANSI C84.1-2020 Range A, 0.95-1.05).
    max_loading_percent : float, optional
        Thermal limit [% of rating]; default the corpus figure (NERC TPL-001-5.1, 100).
    max_impacts : int, default :data:`MAX_IMPACTS`
        Most (element, action) pairs assessed, in order of their first command.
    max_n1 : int, default :data:`MAX_N1`
        N-1 (every branch outage, :func:`~gridsage.tools.grid.contingency.run_contingency_analysis`) is run on the
        resulting states of at most this many impacts: those that change the grid and solve, the most load cut off
        first (then the earliest); the others keep ``n1_status='not_run'``.  0 runs none.

    Returns
    -------
    list of CommandImpact
        In order of first command.

    Raises
    ------
    InputError, UnknownElementError
        From :func:`read_point_map` when ``point_map`` is a source; if ``telemetry`` lacks its columns.

    Notes
    -----
    Buses de-energised: in-service buses connected to an ext_grid or slack gen before the command and not after
    (pandapower topology graph, switches respected).  Load cut off :math:`P_{cut} = \\sum_{b \\in B_{cut}} \\sum_{l
    \\in b} p_l s_l` [MW] over in-service loads (``p_mw`` x ``scaling``, what ``runpp`` serves).  Telemetry confirms
    an 'open' when the last reading within :data:`CONFIRM_WINDOW_S` after the command is at most
    :math:`\\max(z, 0.02 \\bar x)` with :math:`z` from :data:`ZERO_ABS` and :math:`\\bar x` the median magnitude of
    the 5 min before; a 'close' when it is above.

    References
    ----------
    .. [1] NERC TPL-001-5.1 Table 1 (P1; facility ratings); ANSI C84.1-2020 Table 1 Range A.
    .. [2] pandapower topology (``unsupplied_buses``) and ``runpp`` (Thurner et al., 2018).
    """
    import pandas as pd

    from gridsage.knowledge.limits import thermal_limit, voltage_band
    from gridsage.tools.grid import solved_violations
    from gridsage.tools.grid.power_flow import solve, summarize_solved

    if not isinstance(point_map, pd.DataFrame) or "point_key" not in getattr(point_map, "columns", []):
        point_map = read_point_map(point_map, net)
    band, thermal = voltage_band(vm_min_pu, vm_max_pu), thermal_limit(max_loading_percent)
    mapped, _ = mapped_commands(commands, point_map)
    if not len(mapped):
        return []
    ids = None
    if detection_ids is not None:
        ids = [detection_ids] * len(commands) if isinstance(detection_ids, str) else list(detection_ids)
    readings = _telemetry_frame(telemetry)

    base = copy.deepcopy(net)
    base_ok = solve(base, "ac")[-1].converged
    base_keys = {(v.kind, v.element, v.index) for v in solved_violations(base, band, thermal)} if base_ok else set()
    base_supplied = _supply(base)
    served = _served_by_bus(base) if not base_ok else base.res_load.p_mw.groupby(base.load.bus).sum()
    generation = _gen_by_bus(base)

    impacts, states = [], []
    groups = mapped.groupby(["element", "action"], sort=False)
    for (element, action), group in list(groups)[:max_impacts]:
        first = group.iloc[0]
        kind, index = first["element_kind"], int(first["element_index"])
        if index not in net[kind].index:
            raise UnknownElementError(f"{element} is not in the grid", field="point_map.element",
                                      fix="map points to elements of the grid being assessed.")
        after = copy.deepcopy(net)
        changed = _apply(after, kind, index, action)
        label = _element_label(net, kind, index)
        supplied = _supply(after)
        cut = sorted(base_supplied - supplied)
        load_cut = float(served.reindex(cut).fillna(0.0).sum()) if cut else 0.0
        gen_cut = float(generation.reindex(cut).fillna(0.0).sum()) if cut else 0.0
        lost = _lost_sources(net, base_supplied, after, cut, served)
        load_buses = set(served.index[served > 0].tolist())
        blackout = bool(load_buses & base_supplied) and not (load_buses & supplied)
        fig: dict[str, Any] = {}
        if not changed:
            status, converged = "unchanged", base_ok
        elif blackout or not supplied:
            status, converged = "blackout", False
        else:
            converged = solve(after, "ac")[-1].converged
            status = "converged" if converged else "diverged"
            if converged:
                s = summarize_solved(after, "ac", band, thermal)
                vio = s["violations"]
                fig = {"max_loading_percent": s["max_loading_percent"], "vm_min_pu": s["vm_min_pu"],
                       "vm_max_pu": s["vm_max_pu"], "violation_count": len(vio),
                       "new_violation_count": sum((v.kind, v.element, v.index) not in base_keys for v in vio),
                       "violations": [_brief(v) for v in vio[:VIOLATIONS_LISTED]]}
                states.append((len(impacts), load_cut, after))
        devices = [element]
        if kind == "switch":
            et, target = str(net.switch.at[index, "et"]), int(net.switch.at[index, "element"])
            devices += [{"l": f"line:{target}", "t": f"trafo:{target}"}.get(et)] if et in ("l", "t") else []
        state, detail = _confirm(readings, devices, action, first["time_utc"])
        source, dest = shown(first["source"]), shown(first["destination"])
        citations = list(dict.fromkeys([band.citation.entry_id, thermal.citation.entry_id, *IMPACT_CITATIONS,
                                        *(v.citation for v in fig.get("violations", []) if v.citation)]))
        detection = None
        if ids is not None:
            detection = next((ids[r] for r in group["row"] if r < len(ids) and ids[r]), None)
        impact = CommandImpact(
            detection_id=shown(detection), time_utc=pd.Timestamp(first["time_utc"]).to_pydatetime(),
            last_utc=pd.Timestamp(group["time_utc"].iloc[-1]).to_pydatetime(), commands=len(group), source=source,
            destination=dest, protocol=shown(first["protocol"]), object=shown(first["object"]), element=element,
            element_label=label, action=action, changed=changed, status=status, converged=bool(converged),
            buses_deenergised=len(cut), load_cut_mw=round(load_cut, 3), generation_cut_mw=round(gen_cut, 3),
            lost_sources=[x for x in lost if x], blackout=blackout, telemetry=state, telemetry_detail=detail,
            citations=[c for c in citations if c], consequence="", **fig)
        impacts.append(impact)
    for k, _, after in sorted(states, key=lambda x: (-x[1], x[0]))[:max(0, max_n1)]:
        for name, value in _n1(after, band, thermal).items():
            setattr(impacts[k], name, value)
    for impact in impacts:
        impact.consequence = _consequence(impact)
    return impacts


def _consequence(i: CommandImpact) -> str:
    verb = "Opening" if i.action == "open" else "Closing"
    who = f" from {i.source}" if i.source else ""
    if not i.changed:
        return f"{verb} {i.element_label}{who} changes nothing: it is already {'open' if i.action == 'open' else 'closed'}."
    parts = []
    if i.buses_deenergised:
        parts.append(f"cuts off {i.load_cut_mw:.2f} MW at {i.buses_deenergised} bus"
                     + ("es" if i.buses_deenergised != 1 else ""))
    else:
        parts.append("cuts off no load")
    if i.lost_sources:
        parts.append("loses " + ", ".join(i.lost_sources))
    if i.status == "blackout":
        parts.append("a blackout of every supplied load")
    elif i.status == "diverged":
        parts.append("the resulting state has no power-flow solution")
    elif i.violation_count:
        parts.append(f"the rest has {i.violation_count} violations ({i.new_violation_count} new), highest loading "
                     f"{i.max_loading_percent:.1f} %" if i.max_loading_percent is not None else
                     f"the rest has {i.violation_count} violations")
    else:
        parts.append("the rest stays within limits")
    if i.n1_status == "completed":
        worst = ""
        if i.n1_worst:
            what = [f"cuts off {i.n1_worst_lost_load_mw:.2f} MW"] if i.n1_worst_lost_load_mw else []
            what += [f"{i.n1_worst_loading_percent:.1f} % loading"] if i.n1_worst_loading_percent is not None else []
            worst = f", worst outage {i.n1_worst}" + (f" ({', '.join(what)})" if what else "")
        parts.append(f"N-1 afterwards: {i.n1_insecure} insecure contingencies{worst}")
    tele = {"confirmed": "telemetry confirms it", "not_confirmed": "telemetry does not confirm it",
            "no_data": "execution not confirmed (no telemetry)"}[i.telemetry]
    return f"{verb} {i.element_label}{who} " + "; ".join(parts) + f"; {tele}."
