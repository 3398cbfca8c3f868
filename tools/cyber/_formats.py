"""Protocol code tables and the per-format parsers behind :func:`gridsage.tools.cyber.ingest.read_logs`.

Each parser turns the lines (or JSON objects) of one log format into a
:class:`Parsed` table of raw contract columns plus the line-level rejections
(a line that is not JSON, not syslog, has the wrong number of fields); the
shared validation (time, addresses, ports, text bounds) runs afterwards in
:mod:`gridsage.tools.cyber.ingest`.  Nothing here quotes log content in a
reason: reasons are fixed phrases naming the field.

The tables map each protocol's function codes onto the record contract's
``kind`` ('read', 'write', 'command', 'select', 'operate', 'program_download',
'restart', 'config_change', ...).  Names and numbers come from the public
specifications cited in each table's docstring.

References
----------
.. [1] Modbus Organization, "MODBUS Application Protocol Specification V1.1b3" (2012), clause 5.1
   (public function code definitions), clause 6 (function codes), clause 7 (exception responses).
.. [2] IEEE Std 1815-2012, "IEEE Standard for Electric Power Systems Communications - Distributed Network
   Protocol (DNP3)", clause 4.2.2.5 and Table 4-2 (application layer function codes).
.. [3] IEC 60870-5-101:2003, clause 7.2.1 (type identification, Table 8), clause 7.2.6.4/7.2.6.16 (qualifier of
   command: S/E bit); IEC 60870-5-104:2006, clause 8 (type identifications valid in 104).
.. [4] ISO 9506-1/-2:2003 (Manufacturing Message Specification) service list; IEC 61850-8-1:2011 clause 20
   (control model mapped onto MMS write of the CO functional constraint: SBOw, Oper, Cancel).
.. [5] Microsoft, "Advanced security audit policy settings" / "Audit Logon" event documentation (event ids 4624,
   4625, 4634, 4648, 4672, 4688, 4719, 4720, 4722-4726, 4732, 4740, 4776, 1102).
.. [6] Zeek documentation: base/protocols/conn (conn.log ``conn_state``), base/protocols/modbus, base/protocols/dnp3,
   base/protocols/ssh, base/frameworks/notice; logging framework (TSV ``#separator``/``#fields`` headers, JSON).
.. [7] Suricata documentation, "EVE JSON Format" (``event_type``, ``alert``, ``modbus``, ``dnp3``, ``flow``).
.. [8] RFC 5424, "The Syslog Protocol", clause 6 (syslog message format); RFC 3164, "The BSD syslog Protocol",
   clause 4.1 (PRI, HEADER: TIMESTAMP "Mmm dd hh:mm:ss" and HOSTNAME, MSG: TAG and CONTENT).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field as dc_field
from typing import Any

#: the record contract's columns, in order
COLUMNS = ("time_utc", "source", "destination", "source_port", "destination_port", "protocol", "kind", "function",
           "object", "value", "user", "status", "format", "file", "line", "message")
PROTOCOLS = ("modbus", "dnp3", "iec104", "mms", "tcp", "udp", "syslog", "windows", "other")
KINDS = ("connection", "read", "write", "command", "select", "operate", "program_download", "firmware", "restart",
         "login_success", "login_failure", "alert", "config_change", "link_down", "link_up", "other")

# ---------------------------------------------------------------------------------------------------------------- Modbus
MODBUS_FUNCTIONS: dict[int, tuple[str, str]] = {
    1: ("read_coils", "read"),
    2: ("read_discrete_inputs", "read"),
    3: ("read_holding_registers", "read"),
    4: ("read_input_registers", "read"),
    5: ("write_single_coil", "write"),
    6: ("write_single_register", "write"),
    7: ("read_exception_status", "read"),
    8: ("diagnostics", "other"),
    11: ("get_comm_event_counter", "read"),
    12: ("get_comm_event_log", "read"),
    15: ("write_multiple_coils", "write"),
    16: ("write_multiple_registers", "write"),
    17: ("report_server_id", "read"),
    20: ("read_file_record", "read"),
    21: ("write_file_record", "write"),
    22: ("mask_write_register", "write"),
    23: ("read_write_multiple_registers", "write"),
    24: ("read_fifo_queue", "read"),
    43: ("encapsulated_interface_transport", "read"),
    90: ("umas", "program_download"),
}
"""Modbus function code -> (name, kind).

Codes 1-24 and 43 (MEI transport, e.g. 43/14 Read Device Identification: device discovery) are the public codes of
the Modbus Application Protocol Specification V1.1b3, clause 5.1 and clause 6 [1]_.  Code 90 (0x5A) is one of the codes
the specification's Annex A reserves for legacy products (outside the user-defined ranges 65-72 and 100-110);
Schneider Electric's UMAS uses it for engineering-station sessions, including program download to Modicon PLCs (the route of MITRE ATT&CK for ICS
T0843), so it maps to 'program_download'.  A response with ``code + 128`` (0x80 set) is an exception response
(clause 7): it maps to the base code with status 'exception'.  Names accept Zeek's upper-case spellings
(``WRITE_SINGLE_REGISTER``, ``REPORT_SLAVE_ID``, ``ENCAP_INTERFACE_TRANSPORT``, ``unknown-90``) too.
"""
MODBUS_EXCEPTIONS: dict[int, str] = {
    1: "illegal_function", 2: "illegal_data_address", 3: "illegal_data_value", 4: "server_device_failure",
    5: "acknowledge", 6: "server_device_busy", 8: "memory_parity_error", 10: "gateway_path_unavailable",
    11: "gateway_target_device_failed_to_respond",
}
"""Modbus exception code -> name (Modbus Application Protocol Specification V1.1b3, clause 7 [1]_)."""
_MODBUS_ALIASES = {"report_slave_id": 17, "encap_interface_transport": 43, "read_device_identification": 43,
                   "read_write_registers": 23, "schneider_umas": 90, "unity_umas": 90}

# ------------------------------------------------------------------------------------------------------------------ DNP3
DNP3_FUNCTIONS: dict[int, tuple[str, str]] = {
    0: ("CONFIRM", "other"),
    1: ("READ", "read"),
    2: ("WRITE", "write"),
    3: ("SELECT", "select"),
    4: ("OPERATE", "operate"),
    5: ("DIRECT_OPERATE", "operate"),
    6: ("DIRECT_OPERATE_NR", "operate"),
    7: ("IMMED_FREEZE", "other"),
    8: ("IMMED_FREEZE_NR", "other"),
    9: ("FREEZE_CLEAR", "other"),
    10: ("FREEZE_CLEAR_NR", "other"),
    11: ("FREEZE_AT_TIME", "other"),
    12: ("FREEZE_AT_TIME_NR", "other"),
    13: ("COLD_RESTART", "restart"),
    14: ("WARM_RESTART", "restart"),
    15: ("INITIALIZE_DATA", "restart"),
    16: ("INITIALIZE_APPL", "restart"),
    17: ("START_APPL", "restart"),
    18: ("STOP_APPL", "restart"),
    19: ("SAVE_CONFIG", "config_change"),
    20: ("ENABLE_UNSOLICITED", "config_change"),
    21: ("DISABLE_UNSOLICITED", "config_change"),
    22: ("ASSIGN_CLASS", "config_change"),
    23: ("DELAY_MEASURE", "other"),
    24: ("RECORD_CURRENT_TIME", "other"),
    25: ("OPEN_FILE", "program_download"),
    26: ("CLOSE_FILE", "program_download"),
    27: ("DELETE_FILE", "program_download"),
    28: ("GET_FILE_INFO", "program_download"),
    29: ("AUTHENTICATE_FILE", "program_download"),
    30: ("ABORT_FILE", "program_download"),
    31: ("ACTIVATE_CONFIG", "config_change"),
    32: ("AUTHENTICATE_REQ", "other"),
    33: ("AUTH_REQ_NO_ACK", "other"),
    129: ("RESPONSE", "other"),
    130: ("UNSOLICITED_RESPONSE", "other"),
    131: ("AUTHENTICATE_RESP", "other"),
}
"""DNP3 application-layer function code -> (name, kind), IEEE 1815-2012 Table 4-2 [2]_.

SELECT (3) is the first half of select-before-operate, OPERATE (4) the second; DIRECT_OPERATE (5/6) operates
without a select: both operate kinds.  Restart and application stop/start (13-18) are 'restart' (ATT&CK for ICS
T0816 device restart/shutdown); unsolicited-reporting changes and configuration saves (19-22, 31) are
'config_change' (DISABLE_UNSOLICITED can blind a master: loss of view); the file services 25-30 are
'program_download' (file transfer to an outstation).  Responses (129-131) are 'other'.
"""
_DNP3_ALIASES = {"OPERATE_NR": 6, "DIRECT_OPERATE_NO_ACK": 6, "DIRECT_OPERATE_NO_RESP": 6,
                 "INITIALIZE_APPLICATION": 16, "START_APPLICATION": 17, "STOP_APPLICATION": 18,
                 "AUTHENTICATE_ERR": 131}

# ---------------------------------------------------------------------------------------------------------------- IEC 104
IEC104_TYPES: dict[int, tuple[str, str]] = {
    **{t: (n, "other") for t, n in {
        1: "M_SP_NA_1", 2: "M_SP_TA_1", 3: "M_DP_NA_1", 4: "M_DP_TA_1", 5: "M_ST_NA_1", 6: "M_ST_TA_1",
        7: "M_BO_NA_1", 8: "M_BO_TA_1", 9: "M_ME_NA_1", 10: "M_ME_TA_1", 11: "M_ME_NB_1", 12: "M_ME_TB_1",
        13: "M_ME_NC_1", 14: "M_ME_TC_1", 15: "M_IT_NA_1", 16: "M_IT_TA_1", 17: "M_EP_TA_1", 18: "M_EP_TB_1",
        19: "M_EP_TC_1", 20: "M_PS_NA_1", 21: "M_ME_ND_1", 30: "M_SP_TB_1", 31: "M_DP_TB_1", 32: "M_ST_TB_1",
        33: "M_BO_TB_1", 34: "M_ME_TD_1", 35: "M_ME_TE_1", 36: "M_ME_TF_1", 37: "M_IT_TB_1", 38: "M_EP_TD_1",
        39: "M_EP_TE_1", 40: "M_EP_TF_1", 70: "M_EI_NA_1", 104: "C_TS_NA_1", 106: "C_CD_NA_1", 107: "C_TS_TA_1",
        103: "C_CS_NA_1"}.items()},
    45: ("C_SC_NA_1", "command"), 46: ("C_DC_NA_1", "command"), 47: ("C_RC_NA_1", "command"),
    48: ("C_SE_NA_1", "write"), 49: ("C_SE_NB_1", "write"), 50: ("C_SE_NC_1", "write"), 51: ("C_BO_NA_1", "write"),
    58: ("C_SC_TA_1", "command"), 59: ("C_DC_TA_1", "command"), 60: ("C_RC_TA_1", "command"),
    61: ("C_SE_TA_1", "write"), 62: ("C_SE_TB_1", "write"), 63: ("C_SE_TC_1", "write"), 64: ("C_BO_TA_1", "write"),
    100: ("C_IC_NA_1", "read"), 101: ("C_CI_NA_1", "read"), 102: ("C_RD_NA_1", "read"),
    105: ("C_RP_NA_1", "restart"),
    110: ("P_ME_NA_1", "write"), 111: ("P_ME_NB_1", "write"), 112: ("P_ME_NC_1", "write"), 113: ("P_AC_NA_1", "write"),
    **{t: (n, "program_download") for t, n in {
        120: "F_FR_NA_1", 121: "F_SR_NA_1", 122: "F_SC_NA_1", 123: "F_LS_NA_1", 124: "F_AF_NA_1", 125: "F_SG_NA_1",
        126: "F_DR_TA_1", 127: "F_SC_NB_1"}.items()},
}
"""IEC 60870-5-101/104 type identification -> (name, kind) [3]_.

Monitor direction (M_*, 1-40, 70 end of initialisation) reports data: 'other'.  Control direction: single,
double and regulating-step commands (45-47, with time tag 58-60) are 'command'; with the S/E bit of the qualifier
of command given (IEC 60870-5-101 clause 7.2.6.16: S/E = 1 select, 0 execute) they become 'select' or 'operate'.
Set-points and bitstrings (48-51, 61-64) and parameter loading/activation (110-113) are 'write' (a parameter or
set-point change; 'select' when S/E = 1).  General, counter and read interrogation (100-102) are 'read'; reset
process (105) is 'restart'; clock synchronisation, test and delay acquisition (103, 104, 106, 107) are 'other';
file transfer (120-127) is 'program_download'.
"""
_IEC104_SELECTABLE = {45, 46, 47, 48, 49, 50, 58, 59, 60, 61, 62, 63}

# -------------------------------------------------------------------------------------------------------------------- MMS
MMS_SERVICES: dict[str, str] = {
    "read": "read", "write": "write", "informationReport": "other",
    "status": "read", "identify": "read", "getNameList": "read", "getVariableAccessAttributes": "read",
    "getNamedVariableListAttributes": "read", "getDomainAttributes": "read", "getProgramInvocationAttributes": "read",
    "getCapabilityList": "read",
    "defineNamedVariableList": "config_change", "deleteNamedVariableList": "config_change",
    "deleteDomain": "config_change", "rename": "config_change",
    "initiateDownloadSequence": "program_download", "downloadSegment": "program_download",
    "terminateDownloadSequence": "program_download", "obtainFile": "program_download",
    "fileOpen": "program_download", "fileRead": "program_download", "fileClose": "program_download",
    "fileRename": "program_download", "fileDelete": "program_download", "fileDirectory": "program_download",
    "initiateUploadSequence": "read", "uploadSegment": "read", "terminateUploadSequence": "read",
    "createProgramInvocation": "restart", "deleteProgramInvocation": "restart", "start": "restart",
    "stop": "restart", "resume": "restart", "reset": "restart", "kill": "restart",
    "initiate": "connection", "conclude": "connection", "abort": "connection", "cancel": "other", "reject": "other",
}
"""MMS confirmed/unconfirmed service name -> kind (ISO 9506-2 service list; IEC 61850-8-1 [4]_).

Name-space and attribute services (identify, getNameList, getVariableAccessAttributes, ...) are 'read': they are
how a client discovers a server's logical devices and data (ATT&CK for ICS T0846 remote system discovery).  Domain
download and the file services are 'program_download'; program-invocation services 'restart'.  A write whose object
is a control of the CO functional constraint (IEC 61850-8-1 clause 20: ``...$CO$Pos$SBOw``, ``...$Oper``) becomes
'select' (SBO/SBOw) or 'operate' (Oper).  Names match case-insensitively and without '_' or '-'.
"""
_MMS_BY_KEY = {k.lower(): k for k in MMS_SERVICES}

# ---------------------------------------------------------------------------------------------------------------- Windows
WINDOWS_EVENTS: dict[int, tuple[str, str | None]] = {
    4624: ("login_success", "success"),
    4625: ("login_failure", "failure"),
    4648: ("other", None),            # logon with explicit credentials
    4634: ("other", None),            # logoff
    4672: ("other", None),            # special privileges assigned to new logon
    4688: ("other", None),            # process creation
    4719: ("config_change", None),    # audit policy changed
    4720: ("config_change", None),    # user account created
    4722: ("config_change", None),    # user account enabled
    4723: ("config_change", None),    # password change attempt
    4724: ("config_change", None),    # password reset attempt
    4725: ("config_change", None),    # user account disabled
    4726: ("config_change", None),    # user account deleted
    4728: ("config_change", None),    # member added to a global security group
    4732: ("config_change", None),    # member added to a local security group
    4740: ("login_failure", "failure"),  # account locked out
    4756: ("config_change", None),    # member added to a universal security group
    4771: ("login_failure", "failure"),  # Kerberos pre-authentication failed
    4776: ("other", None),            # credential validation (NTLM); status in the event
    1102: ("config_change", None),    # the audit log was cleared
}
"""Windows security event id -> (kind, status) (Microsoft security auditing documentation [5]_).

4624 logon success and 4625 logon failure are the logon pair; 4740 (lock-out) and 4771 (Kerberos pre-auth failure)
are failures too.  Account and group changes (4720-4732, 4756), audit-policy changes (4719) and clearing the audit
log (1102) are 'config_change'; the function column keeps the id, so rules can still tell them apart.  Any other
id is kept as kind 'other'.
"""

# -------------------------------------------------------------------------------------------------------------------- Zeek
ZEEK_CONN_STATES: dict[str, str] = {
    "S0": "failure", "REJ": "failure", "RSTOS0": "failure", "RSTRH": "failure", "SH": "failure", "SHR": "failure",
    "S1": "success", "SF": "success", "S2": "success", "S3": "success", "RSTO": "success", "RSTR": "success",
    "OTH": "other",
}
"""Zeek conn.log ``conn_state`` -> status (Zeek base/protocols/conn documentation [6]_).

S0 (attempt seen, no reply), REJ (attempt rejected), RSTOS0/RSTRH/SH/SHR (an originator SYN or FIN with no
handshake) are failed connection attempts, the trace of a port or host scan; S1, SF, S2, S3, RSTO, RSTR are
established connections; OTH has no SYN seen (mid-stream).
"""
ZEEK_SERVICES: dict[str, str] = {"modbus": "modbus", "dnp3": "dnp3", "dnp3_tcp": "dnp3", "dnp3_udp": "dnp3",
                                 "iec104": "iec104", "iec60870_5_104": "iec104", "iec-104": "iec104",
                                 "mms": "mms", "iec61850": "mms"}
"""Zeek ``service`` / Suricata ``app_proto`` value -> contract protocol (others keep the transport, tcp or udp)."""

# ------------------------------------------------------------------------------------------------------ syslog messages
SYSLOG_SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
"""RFC 5424 clause 6.2.1 Table 2: severity = PRI mod 8 [8]_."""
_LOGIN_PATTERNS: tuple[tuple[re.Pattern, str, str], ...] = (
    (re.compile(r"Failed (?:password|publickey|keyboard-interactive(?:/pam)?|none) for (?:invalid user )?"
                r"(?P<user>\S{1,64}) from (?P<host>[0-9A-Fa-f:.]{2,45})(?: port (?P<port>\d{1,5}))?"),
     "login_failure", "failure"),
    (re.compile(r"Invalid user (?P<user>\S{1,64}) from (?P<host>[0-9A-Fa-f:.]{2,45})(?: port (?P<port>\d{1,5}))?"),
     "login_failure", "failure"),
    (re.compile(r"authentication failure;[^\n]*?rhost=(?P<host>[0-9A-Fa-f:.]{0,45})"
                r"(?:[ \t]+user=(?P<user>\S{1,64}))?(?P<port>)"), "login_failure", "failure"),
    (re.compile(r"Accepted (?:password|publickey|keyboard-interactive(?:/pam)?|gssapi-with-mic) for "
                r"(?P<user>\S{1,64}) from (?P<host>[0-9A-Fa-f:.]{2,45})(?: port (?P<port>\d{1,5}))?"),
     "login_success", "success"),
)
SYSLOG_KIND_PATTERNS: tuple[tuple[str, str], ...] = (
    ("link_down", r"changed state to down\b"),
    ("link_down", r"link(?: is| status:?)?[ \t]+down\b"),
    ("link_up", r"changed state to up\b"),
    ("link_up", r"link(?: is| status:?)?[ \t]+up\b"),
    ("firmware", r"firmware\b[^\n]{0,80}\b(?:update|upgrade|download|install|flash)"),
    ("config_change", r"%sys-\d-config_i\b"),
    ("config_change", r"configured from\b"),
    ("config_change", r"configuration (?:changed|modified|saved)\b"),
    ("restart", r"reboot(?:ed|ing)?\b"),
    ("restart", r"restart(?:ed|ing)?\b"),
    ("restart", r"(?:cold|warm) start\b"),
    ("restart", r"system (?:halted|shutdown)\b"),
)
"""Message patterns -> kind for syslog lines that are not logins (first kind in this order wins).

Matched case-insensitively (on the lower-cased messages) at a word start.  Authentication lines first (OpenSSH
``Failed password for X from IP port N``, ``Accepted ... for X from IP``, ``Invalid user X from IP``, PAM
``authentication failure; ... rhost=IP user=X``) give 'login_failure' / 'login_success' with the user and the
remote address as ``source`` (the logging host becomes ``destination``).  Then link state (Cisco
``%LINK-3-UPDOWN ... changed state to down``, Linux ``NIC Link is Down``), firmware updates, configuration changes
(Cisco ``%SYS-5-CONFIG_I``) and restarts.  Each pattern starts with a literal (a fast scan) and none crosses a line:
log content is classified as data, and nothing in one line changes how another is read.
"""

# one alternation that matches every line: RFC 5424 (groups 1-9), RFC 3164 (10-15), anything else (16)
_SYSLOG_LINE = re.compile(
    r"^(?:<(\d{1,3})>(\d{1,2}) (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]\\\n]|\\.)*\])+)(?: ([^\n]*))?"
    r"|(?:<(\d{1,3})>)?([A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\S+) (\S+) "
    r"(?:([A-Za-z0-9_./-]{1,48})(?:\[([^\]\s]{1,16})\])?: ?)?([^\n]*)"
    r"|([^\n]*))$", re.M)


@dataclass
class Parsed:
    """The raw contract columns of one format, before the shared validation.

    ``columns`` maps each contract column (except time_utc) to a list or array of raw values (str, number or
    None), or one str for every row, or None; ``time`` holds the raw times and ``time_kind`` how to read them
    ('iso', 'bsd', 'windows', 'zeek': epoch or ISO), for all rows or per row; ``line`` the line numbers;
    ``formats`` the per-row format name (or one); ``fields`` the input field name of each contract column (for
    reasons); ``hosts`` the address columns where a host name is allowed; ``rejected`` line-level rejections
    (line, field, reason); ``required`` the contract columns that may not be blank; ``checks`` format-specific
    (input field, per-row malformed mask, reason).
    """

    line: Any
    time: Any
    time_kind: Any
    columns: dict[str, Any]
    formats: Any
    fields: dict[str, str]
    hosts: frozenset[str] = frozenset()
    rejected: list[tuple[int, str, str]] = dc_field(default_factory=list)
    required: tuple[str, ...] = ("source",)
    checks: list[tuple[str, Any, str]] = dc_field(default_factory=list)


# ----------------------------------------------------------------------------------------------------- normalisation
def _int_code(text) -> int | None:
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        return text
    if isinstance(text, float):
        return int(text) if text.is_integer() else None
    t = str(text).strip().lower()
    try:
        return int(t, 16) if t.startswith("0x") else int(t)
    except ValueError:
        return None


def _key(text: str) -> str:
    return re.sub(r"[\s_-]+", "_", text.strip().lower())


_MODBUS_BY_NAME = {**{name: code for code, (name, _) in MODBUS_FUNCTIONS.items()}, **_MODBUS_ALIASES}
_DNP3_BY_NAME = {**{name: code for code, (name, _) in DNP3_FUNCTIONS.items()}, **_DNP3_ALIASES}
_IEC104_BY_NAME = {name: code for code, (name, _) in IEC104_TYPES.items()}


def normalise_function(protocol: str, function: str) -> tuple[str, str, str | None]:
    """One protocol function as the contract spells it: (function, kind, status hint).

    Modbus gives the decimal code ('6'; an exception response 134 gives '6' with status 'exception'); DNP3 the
    upper-case name ('DIRECT_OPERATE'); IEC 104 the type name ('C_SC_NA_1'); MMS the ISO 9506 service name
    ('getNameList').  A code or name outside the tables is kept as given with kind 'other'.

    Parameters
    ----------
    protocol : str
        'modbus', 'dnp3', 'iec104' or 'mms' (anything else: kind 'other').
    function : str
        Code (decimal or 0x hex) or name, any case.

    Returns
    -------
    tuple of (str, str, str or None)
    """
    text = function.strip()
    code = _int_code(text)
    if protocol == "modbus":
        status = None
        if code is None:
            key = _key(text)
            if key.endswith("_exception"):
                key, status = key[: -len("_exception")], "exception"
            if key.startswith("unknown_"):
                code = _int_code(key[len("unknown_"):])
            else:
                code = _MODBUS_BY_NAME.get(key)
        if code is not None and 128 < code < 256:
            code, status = code - 128, "exception"
        if code is not None and code in MODBUS_FUNCTIONS:
            return str(code), MODBUS_FUNCTIONS[code][1], status
        return (str(code) if code is not None else text), "other", status
    if protocol == "dnp3":
        if code is None:
            code = _DNP3_BY_NAME.get(_key(text).upper())
        if code is not None and code in DNP3_FUNCTIONS:
            return DNP3_FUNCTIONS[code][0], DNP3_FUNCTIONS[code][1], None
        return (str(code) if code is not None else text), "other", None
    if protocol == "iec104":
        if code is None:
            code = _IEC104_BY_NAME.get(_key(text).upper())
        if code is not None and code in IEC104_TYPES:
            return IEC104_TYPES[code][0], IEC104_TYPES[code][1], None
        return (str(code) if code is not None else text), "other", None
    if protocol == "mms":
        name = _MMS_BY_KEY.get(re.sub(r"[\s_-]+", "", text).lower())
        if name is not None:
            return name, MMS_SERVICES[name], None
        return text, "other", None
    return text, "other", None


def select_execute_kind(function: str, kind: str, flag: str | None) -> str:
    """IEC 104 command kind with the S/E bit: 'select' for S/E = 1, 'operate' (commands) or unchanged (set-points)
    for S/E = 0; unchanged without a flag or for a type without the bit (IEC 60870-5-101 clause 7.2.6.16)."""
    if flag is None:
        return kind
    code = _IEC104_BY_NAME.get(function)
    if code not in _IEC104_SELECTABLE:
        return kind
    f = str(flag).strip().lower()
    if f in ("1", "s", "select", "true"):
        return "select"
    if f in ("0", "e", "execute", "exec", "false"):
        return "operate" if kind == "command" else kind
    return kind


# ------------------------------------------------------------------------------------------------------------- helpers
def split_lines(text: str) -> tuple[list[str], list[int]]:
    """Non-blank lines and their 1-based line numbers (the text's line ends are already '\\n')."""
    raw = text.split("\n")
    numbers = [n for n, line in enumerate(raw, 1) if line and not line.isspace()]
    if len(numbers) == len(raw):
        return raw, numbers
    return [raw[n - 1] for n in numbers], numbers


def _loads():
    try:
        import orjson

        return orjson.loads, (orjson.JSONDecodeError, TypeError)
    except ImportError:  # pragma: no cover - orjson ships with chromadb here
        import json

        return json.loads, (ValueError, TypeError)


def json_objects(lines: list[str], numbers: list[int]) -> tuple[list[dict], list[int], list[tuple[int, str, str]]]:
    """Parse one JSON object per line; a line that is not one is rejected (field 'line'), the others kept."""
    loads, errors = _loads()
    try:  # fast path: every line is JSON, parsed as one array
        objects = loads("[" + ",".join(lines) + "]")
        if len(objects) == len(lines) and all(o.__class__ is dict for o in objects):
            return objects, numbers, []
    except (*errors, RecursionError):
        pass
    objects, kept, rejected = [], [], []
    for text, n in zip(lines, numbers):
        try:
            obj = loads(text)
        except (*errors, RecursionError):
            rejected.append((n, "line", "not valid JSON; write one JSON object per line"))
            continue
        if isinstance(obj, dict):
            objects.append(obj)
            kept.append(n)
        else:
            rejected.append((n, "line", "not a JSON object; write one JSON object per line"))
    return objects, kept, rejected


def json_lines(text: str) -> tuple[list[dict], list[int], list[tuple[int, str, str]]]:
    """JSON lines: the objects, their line numbers and the rejected lines.

    The whole text is first parsed as one array (lines joined by commas, one C call); any failure (a blank or
    broken line, a line that is not one object) falls back to :func:`json_objects`, line by line.
    """
    body = text.rstrip()  # a blank line inside becomes ',,' or ', ,': invalid, so the fallback numbers it right
    if body:
        loads, errors = _loads()
        try:
            objects = loads("[" + body.replace("\n", ",") + "]")
            if len(objects) == body.count("\n") + 1 and all(o.__class__ is dict for o in objects):
                return objects, list(range(1, len(objects) + 1)), []
        except (*errors, RecursionError):
            pass
    lines, numbers = split_lines(text)
    return json_objects(lines, numbers)


def json_array(text: str) -> list | None:
    """A whole-document JSON array (Windows ConvertTo-Json form), or None if the text is not one."""
    loads, errors = _loads()
    try:
        doc = loads(text)
    except (*errors, RecursionError):
        return None
    if isinstance(doc, dict):
        return [doc]
    return doc if isinstance(doc, list) else None


def csv_rows(text: str) -> tuple[list[list[str]], list[int]]:
    """CSV records (quoted fields may span lines) and the line each starts on; blank records skipped."""
    reader = csv.reader(io.StringIO(text))
    try:
        rows = list(reader)  # a blank line is an empty row, so without multi-line records row i is line i + 1
        if len(rows) == text.count("\n") + (0 if text.endswith("\n") else 1):
            starts = [i for i, row in enumerate(rows, 1) if row]
            return ([row for row in rows if row] if len(starts) < len(rows) else rows), starts
        reader = csv.reader(io.StringIO(text))
        rows, starts, end = [], [], 0
        for row in reader:
            start, end = end + 1, reader.line_num
            if row:
                rows.append(row)
                starts.append(start)
    except csv.Error:
        from gridsage.errors import InputError

        raise InputError(f"line {reader.line_num + 1} is not readable as CSV (a field longer than "
                         f"{csv.field_size_limit():,} characters or an unclosed quote)", field="source",
                         fix="save the export as CSV with one quoted field per column.") from None
    return rows, starts


def _table(text: str, sep: str, quoted: bool) -> tuple[dict[str, Any], list[str], list[int], list]:
    """A delimited table with a header: (columns by header name, header, line numbers, rejected lines).

    Unquoted text (no '"') is checked per line for its field count and read by pandas' C parser; text with
    quotes (fields may span lines) goes through :mod:`csv`, which tracks the line each record starts on.
    """
    import pandas as pd

    if not quoted or '"' not in text:
        lines, numbers = split_lines(text)
        if not lines:
            return {}, [], [], []
        header = [h.strip() for h in lines[0].split(sep)]
        width = len(header) - 1
        counts = [line.count(sep) for line in lines[1:]]
        good = [c == width for c in counts]
        rejected = [(n, "line", f"has {c + 1} fields where the header has {width + 1}")
                    for n, c, g in zip(numbers[1:], counts, good) if not g]
        if rejected:
            body = [line for line, g in zip(lines[1:], good) if g]
            numbers = [n for n, g in zip(numbers[1:], good) if g]
        else:
            body, numbers = lines[1:], numbers[1:]
        if not body:
            return {h: [] for h in header}, header, [], rejected
        frame = pd.read_csv(io.StringIO("\n".join(body)), sep=sep, header=None, names=list(range(width + 1)),
                            dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE, engine="c",
                            skip_blank_lines=False)
        return {h: frame[i].to_numpy(dtype=object) for i, h in enumerate(header)}, header, numbers, rejected
    rows, starts = csv_rows(text)
    if not rows:
        return {}, [], [], []
    if rows[0] and rows[0][0].startswith("#TYPE"):  # Windows PowerShell 5.1 Export-Csv without -NoTypeInformation
        rows, starts = rows[1:], starts[1:]
        if not rows:
            return {}, [], [], []
    header = [h.strip() for h in rows[0]]
    width = len(header)
    good = [len(r) == width for r in rows[1:]]
    rejected = [(n, "line", f"has {len(r)} fields where the header has {width}")
                for r, n, g in zip(rows[1:], starts[1:], good) if not g]
    body = [r for r, g in zip(rows[1:], good) if g]
    numbers = [n for n, g in zip(starts[1:], good) if g]
    columns = list(zip(*body)) if body else [()] * width
    return {h: list(c) for h, c in zip(header, columns)}, header, numbers, rejected


def _map_unique(values, fn, n: int | None = None):
    """``fn`` applied once per distinct value (None included) and spread back: an object array."""
    import numpy as np
    import pandas as pd

    if values is None:
        return np.full(n, fn(None), dtype=object)
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
    table = np.empty(len(uniques) + 1, dtype=object)
    table[:-1] = [fn(u) for u in uniques]
    table[-1] = fn(None)
    return table[codes]


# ------------------------------------------------------------------------------------------------------ protocol CSV
PROTOCOL_CSV_REQUIRED = ("time", "source", "destination", "protocol", "function", "object", "value")
PROTOCOL_CSV_OPTIONAL = ("source_port", "destination_port", "user", "status", "select_execute")


def parse_protocol_csv(text: str) -> Parsed:
    """GridSage's protocol-record CSV: ``time,source,destination,protocol,function,object,value`` [+ optional]."""
    from gridsage.errors import InputError

    table, header, line, rejected = _table(text, ",", quoted=True)
    if not header:
        raise InputError("no header row", field="source", fix="start the file with the header "
                         + ",".join(PROTOCOL_CSV_REQUIRED) + ".")
    lower = {h.lower(): h for h in header}
    missing = [c for c in PROTOCOL_CSV_REQUIRED if c not in lower]
    if missing:
        raise InputError(f"the header has no column {missing[0]!r}", field=missing[0],
                         fix="name the columns " + ",".join(PROTOCOL_CSV_REQUIRED) + " (optional: "
                             + ",".join(PROTOCOL_CSV_OPTIONAL) + ").")

    def column(name):
        return table[lower[name]] if name in lower else None

    columns = {c: column(c) for c in ("source", "destination", "source_port", "destination_port", "function",
                                      "object", "value", "user", "status", "select_execute")}
    columns["protocol"] = column("protocol")
    return Parsed(line=line, time=column("time"), time_kind="iso", columns=columns, formats="protocol_csv",
                  fields={c: c for c in COLUMNS} | {"time_utc": "time"}, hosts=frozenset({"source", "destination"}),
                  rejected=rejected, required=("source", "protocol", "function"))


# ---------------------------------------------------------------------------------------------------------- Windows
WINDOWS_KEYS = ("TimeCreated", "Id", "MachineName", "TargetUserName", "IpAddress", "LogonType", "Message")
_WINDOWS_FIELDS = {"time_utc": "TimeCreated", "source": "IpAddress", "destination": "MachineName",
                   "function": "Id", "source_port": "IpPort", "destination_port": "IpPort"}


def _windows(get, keys: set[str], line: list[int], fmt: str, rejected) -> Parsed:
    """Windows event records: ``get(name)`` gives a column (list) by its lower-case key, or None."""
    import numpy as np

    from gridsage.errors import InputError

    for need in ("TimeCreated", "Id", "MachineName"):
        if need.lower() not in keys:
            raise InputError(f"no {need!r} column", field=need, fix="export the columns " + ",".join(WINDOWS_KEYS)
                             + " (Get-WinEvent | Select-Object ... | Export-Csv -NoTypeInformation).")
    n = len(line)
    dash = lambda v: None if v is None or (v.__class__ is str and v.strip() in ("", "-")) else v  # noqa: E731
    machine = get("machinename")
    ip = _map_unique(get("ipaddress"), dash, n)
    ids = get("id")

    def event(v):
        code = _int_code(v) if v is not None else None
        kind, status = WINDOWS_EVENTS.get(code, ("other", None)) if code is not None else ("other", None)
        malformed = code is None and v is not None and bool(str(v).strip())
        return (str(code) if code is not None else v), kind, status, malformed

    ev = _map_unique(ids, event, n)
    user = _map_unique(get("targetusername"), dash, n)
    machine_arr = np.empty(n, dtype=object)
    machine_arr[:] = machine
    source = np.where(np.array([v is None for v in ip], dtype=bool), machine_arr, ip) if n else ip
    port = get("ipport")
    columns = {"source": source, "destination": machine_arr,
               "source_port": _map_unique(port, lambda v: None if dash(v) in (None, "0", 0) else v, n),
               "destination_port": None, "protocol": "windows", "kind": [e[1] for e in ev],
               "function": [e[0] for e in ev], "object": user, "value": get("logontype"), "user": user,
               "status": [e[2] for e in ev], "message": get("message")}
    return Parsed(line=line, time=get("timecreated"), time_kind="windows", columns=columns, formats=fmt,
                  fields=_WINDOWS_FIELDS, hosts=frozenset({"source", "destination"}), rejected=rejected,
                  required=("source", "destination", "function"),
                  checks=[("Id", [e[3] for e in ev], "not an integer event id")])


def parse_windows_csv(text: str) -> Parsed:
    """Get-WinEvent | Export-Csv: ``TimeCreated,Id,MachineName,TargetUserName,IpAddress,LogonType,Message``."""
    from gridsage.errors import InputError

    table, header, line, rejected = _table(text, ",", quoted=True)
    if not header:
        raise InputError("no header row", field="source", fix="export with a header row: " + ",".join(WINDOWS_KEYS))
    lower = {h.lower(): h for h in header}
    return _windows(lambda k: table[lower[k]] if k in lower else None, set(lower), line, "windows_csv", rejected)


def parse_windows_json(text: str | None, objects: list | None = None) -> Parsed:
    """ConvertTo-Json of Get-WinEvent records: a JSON array, or one object per line (same keys as the CSV)."""
    if objects is not None:
        records = [o for o in objects if isinstance(o, dict)]
        line = [i + 1 for i, o in enumerate(objects) if isinstance(o, dict)]
        rejected = [(i + 1, "line", "not a JSON object") for i, o in enumerate(objects) if not isinstance(o, dict)]
    else:
        doc = json_array(text) if text.lstrip().startswith("[") else None
        if doc is not None:  # an array: records are numbered by their position in it (1-based)
            return parse_windows_json(None, doc)
        records, line, rejected = json_lines(text)
    keys = {k.lower(): k for r in records[:50] for k in r}
    return _windows(lambda k: [r.get(keys[k]) for r in records] if k in keys else None, set(keys), line,
                    "windows_json", rejected)


# ------------------------------------------------------------------------------------------------------------ syslog
def _classify_messages(messages: list[str]):
    """Per message: kind, user, remote host, port and status from the login patterns and
    :data:`SYSLOG_KIND_PATTERNS`.

    The messages are joined with newlines and each pattern scans the joined text once (no pattern crosses a
    newline); a match's offset gives its message.  The first pattern (in table order) to match a message wins.
    """
    import numpy as np

    n = len(messages)
    kind = np.full(n, "other", dtype=object)
    user = np.full(n, None, dtype=object)
    host = np.full(n, None, dtype=object)
    port = np.full(n, None, dtype=object)
    status = np.full(n, None, dtype=object)
    if not n:
        return kind, user, host, port, status
    joined = "\n".join(messages)
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, messages), dtype=np.int64, count=n)[:-1] + 1, out=starts[1:])
    done = np.zeros(n, dtype=bool)

    def first_rows(positions):
        rows, first = np.unique(np.searchsorted(starts, positions, side="right") - 1, return_index=True)
        fresh = ~done[rows]
        return rows[fresh], first[fresh]

    for pattern, k, st in _LOGIN_PATTERNS:
        hits = [(m.start(), m["user"], m["host"], m["port"]) for m in pattern.finditer(joined)]
        if not hits:
            continue
        pos, users, hosts, ports = (np.array(c, dtype=object) for c in zip(*hits))
        rows, first = first_rows(pos.astype(np.int64))
        kind[rows], status[rows], done[rows] = k, st, True
        user[rows], port[rows] = users[first], ports[first]
        host[rows] = np.where(hosts[first] == "", None, hosts[first])
    lowered = joined.lower()  # offsets must match the original text
    if len(lowered) != len(joined):  # a character whose lower case is longer (rare): per message
        lowered = "\n".join(m.lower()[: len(m)].ljust(len(m)) for m in messages)
    for k, pattern in SYSLOG_KIND_PATTERNS:
        found = [m.start() for m in re.finditer(pattern, lowered)]
        if found:
            pos = np.array(found, dtype=np.int64)
            before = np.array([lowered[p - 1] if p else "\n" for p in found], dtype=object)
            word = np.array([not (c.isalnum() or c == "_") for c in before], dtype=bool)  # a word start
            if word.any():
                rows, _ = first_rows(pos[word])
                kind[rows], done[rows] = k, True
    return kind, user, host, port, status


def parse_syslog(text: str) -> Parsed:
    """RFC 5424 and RFC 3164 lines (told apart per line; 3164 also without PRI, as written to /var/log files)."""
    import numpy as np

    found = _SYSLOG_LINE.findall(text)  # one tuple per line, blank lines included
    if not found:
        return Parsed(line=[], time=[], time_kind="iso", columns={}, formats="syslog_5424", fields={})
    needed = (0, 2, 3, 4, 8, 9, 10, 11, 12, 14, 15)  # version, PROCID, MSGID, SD and the 3164 PID are not kept
    g = {i: np.array(c, dtype=object) for i, c in enumerate(zip(*found)) if i in needed}
    numbers = np.arange(1, len(found) + 1)
    is5424 = g[2] != ""
    is3164 = ~is5424 & (g[10] != "")
    other = ~is5424 & ~is3164
    blank = other & np.array([not s or s.isspace() for s in g[15]], dtype=bool)
    rejected = [(int(n), "line", "not an RFC 5424 or RFC 3164 syslog line") for n in numbers[other & ~blank]]
    keep = is5424 | is3164
    pick = lambda a, b: np.where(is5424, a, b)[keep]  # noqa: E731
    nil = lambda a: np.where(a == "-", None, np.where(a == "", None, a))  # noqa: E731
    pri = pick(g[0], g[9])
    ts = pick(g[2], g[10])
    host = nil(pick(g[3], g[11]))
    app = nil(pick(g[4], g[12]))
    msg = pick(g[8], g[14])
    fmt = np.where(is5424, "syslog_5424", "syslog_3164")[keep]
    bsd = np.array([t[:1].isalpha() for t in ts], dtype=bool) if len(ts) else np.zeros(0, bool)
    kind_t = np.where(bsd, "bsd", "iso")
    line = numbers[keep]
    pri_num = np.array([int(p) if p else -1 for p in pri], dtype=np.int64)
    bad_pri = pri_num > 191
    severity = np.array(SYSLOG_SEVERITIES + (None,), dtype=object)[np.where((pri_num >= 0) & ~bad_pri,
                                                                            pri_num % 8, 8)]
    msg = np.array([m[1:] if m.startswith("\ufeff") else m for m in msg], dtype=object)  # RFC 5424 BOM
    kind, user, remote, rport, status = _classify_messages(msg.tolist())
    login = np.array([r is not None for r in remote], dtype=bool)
    source = np.where(login, remote, host)
    destination = np.where(login, host, None)
    return Parsed(line=line, time=ts, time_kind=kind_t,
                  columns={"source": source, "destination": destination, "source_port": rport,
                           "destination_port": None, "protocol": "syslog", "kind": kind, "function": app,
                           "object": user, "value": severity, "user": user, "status": status, "message": msg},
                  formats=fmt, fields={"time_utc": "TIMESTAMP", "source": "HOSTNAME", "destination": "HOSTNAME",
                                       "source_port": "port"},
                  hosts=frozenset({"source", "destination"}), rejected=rejected,
                  checks=[("PRI", bad_pri, "PRI above 191 (RFC 5424 clause 6.2.1)")])


# -------------------------------------------------------------------------------------------------------------- Zeek
_ZEEK_FIELDS = {"time_utc": "ts", "source": "id.orig_h", "destination": "id.resp_h", "source_port": "id.orig_p",
                "destination_port": "id.resp_p"}
_ZEEK_KNOWN = ("conn", "modbus", "dnp3", "ssh", "notice")


#: Zeek log names kept in a record's ``format`` (``zeek_<path>``); any other path, which the log itself names, is
#: 'zeek_other', so no log text reaches the counts (Zeek documentation, "Log Files")
ZEEK_LOGS = frozenset({"conn", "dns", "http", "ssl", "x509", "files", "ssh", "notice", "weird", "modbus", "dnp3",
                       "s7comm", "bacnet", "enip", "cip", "smb_files", "smb_mapping", "dce_rpc", "rdp", "ntp",
                       "dhcp", "ftp", "smtp", "snmp", "syslog", "kerberos", "ntlm", "software", "known_hosts",
                       "known_services", "tunnel", "intel", "signatures", "other"})
#: Suricata EVE ``event_type`` values kept in a record's ``format`` (``suricata_<type>``); any other is 'suricata'
#: (Suricata documentation, "Eve JSON Format")
SURICATA_EVENT_TYPES = frozenset({"alert", "anomaly", "drop", "flow", "netflow", "stats", "fileinfo", "dns", "http",
                                  "http2", "tls", "ssh", "smtp", "ftp", "ftp_data", "smb", "nfs", "tftp", "dhcp",
                                  "krb5", "ike", "rdp", "rfb", "sip", "snmp", "mqtt", "quic", "pgsql", "modbus",
                                  "dnp3", "enip", "frame"})


def _zeek_path(keys) -> str:
    keys = set(keys)
    if "func" in keys:
        return "modbus"
    if "fc_request" in keys or "fc_reply" in keys:
        return "dnp3"
    if "conn_state" in keys:
        return "conn"
    if "auth_success" in keys:
        return "ssh"
    if "note" in keys:
        return "notice"
    return "other"


def _lower(v):
    return v.lower() if isinstance(v, str) else ""


def _zeek_map(get, n: int, path: str) -> dict[str, Any]:
    """Contract columns of ``n`` Zeek records of one log type; ``get(name)`` gives a column or None."""
    import numpy as np

    src, dst = get("id.orig_h"), get("id.resp_h")
    out: dict[str, Any] = {"source": src, "destination": dst, "source_port": get("id.orig_p"),
                           "destination_port": get("id.resp_p"), "object": None, "value": None, "user": None,
                           "status": None, "message": None}
    transport = _map_unique(get("proto"), lambda p: (lambda q: q if q in ("tcp", "udp") else
                                                     ("other" if q else "tcp"))(_lower(p)), n)
    if path == "conn":
        service = _map_unique(get("service"), lambda s: ZEEK_SERVICES.get(_lower(s).split(",")[0]), n)
        out["protocol"] = np.where(np.array([s is None for s in service], dtype=bool), transport, service)
        out["kind"] = "connection"
        states = get("conn_state")
        out["function"] = states
        out["status"] = _map_unique(states, lambda s: ZEEK_CONN_STATES.get(s) if isinstance(s, str) else None, n)
        out["value"] = get("history")
    elif path == "modbus":
        out["protocol"] = "modbus"
        out["function"] = get("func")
        exc = get("exception")
        out["value"] = exc
        out["status"] = _map_unique(exc, lambda e: "exception" if e else None, n)
        out["object"] = get("address") if get("address") is not None else get("unit")
    elif path == "dnp3":
        out["protocol"] = "dnp3"
        req, rep = get("fc_request"), get("fc_reply")
        if req is None:
            out["function"] = rep
        elif rep is None:
            out["function"] = req
        else:
            out["function"] = [q if q else r for q, r in zip(req, rep)]
        out["value"] = get("iin")
    elif path == "ssh":
        out["protocol"] = transport
        ok = _map_unique(get("auth_success"), lambda a: "login_success" if a in (True, "T", "true") else
                         "login_failure" if a in (False, "F", "false") else "connection", n)
        out["kind"] = ok
        out["status"] = _map_unique(ok, {"login_success": "success", "login_failure": "failure"}.get, n)
        out["function"] = "ssh"
        out["value"] = get("auth_attempts")
        out["message"] = get("client")
    elif path == "notice":
        s2, d2 = get("src"), get("dst")
        if s2 is not None:
            out["source"] = [a if a else b for a, b in zip(s2, src)] if src is not None else s2
        if d2 is not None:
            out["destination"] = [a if a else b for a, b in zip(d2, dst)] if dst is not None else d2
        out["protocol"] = np.where(transport == "tcp", "tcp", np.where(transport == "udp", "udp", "other"))
        out["kind"] = "alert"
        out["function"] = get("note")
        out["message"] = get("msg")
        out["value"] = get("sub")
    else:
        out["protocol"] = ZEEK_SERVICES.get(path) or (transport if get("proto") is not None else "other")
        out["kind"] = "other"
        out["function"] = path
    return out


def _zeek_parts(parts: list[tuple[str, Any, int, list[int]]], rejected) -> Parsed:
    """Concatenate per-log-type parts (path, get, n, line numbers) into one Parsed, in line order."""
    import numpy as np

    names = ("source", "destination", "source_port", "destination_port", "protocol", "kind", "function", "object",
             "value", "user", "status", "message")
    columns: dict[str, list] = {k: [] for k in names}
    line, time, formats = [], [], []
    for path, get, n, numbers in parts:
        if not n:
            continue
        mapped = _zeek_map(get, n, path)
        for k in names:
            v = mapped.get(k)
            if v is None or isinstance(v, str):
                columns[k].append(np.full(n, v, dtype=object))
            else:
                arr = np.empty(n, dtype=object)
                arr[:] = v
                columns[k].append(arr)
        ts = get("ts")
        arr = np.empty(n, dtype=object)
        arr[:] = ts if ts is not None else None
        time.append(arr)
        line.append(np.asarray(numbers, dtype=np.int64))
        formats.append(np.full(n, f"zeek_{path if path in ZEEK_LOGS else 'other'}", dtype=object))
    if not line:
        return Parsed(line=[], time=[], time_kind="zeek", columns={}, formats="zeek", fields=_ZEEK_FIELDS,
                      rejected=sorted(rejected))
    line_all = np.concatenate(line)
    order = np.argsort(line_all, kind="stable")
    cat = lambda xs: np.concatenate(xs)[order]  # noqa: E731
    return Parsed(line=line_all[order], time=cat(time), time_kind="zeek",
                  columns={k: cat(v) for k, v in columns.items()}, formats=cat(formats), fields=_ZEEK_FIELDS,
                  rejected=sorted(rejected))


def zeek_objects(objects: list[dict], numbers: list[int], rejected) -> Parsed:
    """Zeek records as JSON objects (``_path`` when present, else the log type from the keys)."""
    by_path: dict[str, tuple[list, list]] = {}
    if objects and all("_path" not in o for o in objects[:1]):
        first = _zeek_path(objects[0].keys())
        same = all(_zeek_path(o.keys()) == first for o in objects[:: max(1, len(objects) // 64)])
    else:
        same = False
    if same and all("_path" not in o for o in objects):
        by_path[first] = (objects, list(numbers))
    else:
        for obj, n in zip(objects, numbers):
            p = obj.get("_path")
            path = (p if re.fullmatch(r"\w{1,32}", p) else "other") if isinstance(p, str) else _zeek_path(obj.keys())
            rows, nums = by_path.setdefault(path, ([], []))
            rows.append(obj)
            nums.append(n)
    parts = []
    for path, (rows, nums) in by_path.items():
        keys = set().union(*(r.keys() for r in rows[:200])) if rows else set()
        get = (lambda rs, ks: lambda k: [r.get(k) for r in rs] if k in ks else None)(rows, keys)
        parts.append((path, get, len(rows), nums))
    return _zeek_parts(parts, rejected)


def parse_zeek(text: str) -> Parsed:
    """Zeek logs: TSV with ``#separator``/``#fields`` headers (several header blocks allowed), or JSON lines."""
    if text.lstrip().startswith("#"):
        return _parse_zeek_tsv(text)
    objects, kept, rejected = json_lines(text)
    return zeek_objects(objects, kept, rejected)


def _parse_zeek_tsv(text: str) -> Parsed:
    import numpy as np
    import pandas as pd

    raw = text.split("\n")
    heads = [i for i, line in enumerate(raw) if line.startswith("#")] + [len(raw)]
    sep, unset, empty, path = "\t", "-", "(empty)", None
    fields: list[str] | None = None
    parts: list[tuple[str, Any, int, list[int]]] = []
    rejected: list[tuple[int, str, str]] = []
    previous = -1
    for h in heads:
        a, b = previous + 1, h  # data lines between two header lines
        previous = h
        if b > a:
            numbers = [i + 1 for i in range(a, b) if raw[i] and not raw[i].isspace()]
            if numbers and fields is None:
                rejected += [(n, "line", "data before the #fields header") for n in numbers]
            elif numbers:
                lines = [raw[n - 1] for n in numbers]
                width = len(fields) - 1
                counts = [line.count(sep) for line in lines]
                good = [c == width for c in counts]
                rejected += [(n, "line", f"has {c + 1} fields where #fields has {width + 1}")
                             for n, c, g in zip(numbers, counts, good) if not g]
                lines = [line for line, g in zip(lines, good) if g]
                numbers = [n for n, g in zip(numbers, good) if g]
                if lines:
                    frame = pd.read_csv(io.StringIO("\n".join(lines)), sep=sep, header=None,
                                        names=list(range(width + 1)), dtype=str, keep_default_na=False,
                                        quoting=csv.QUOTE_NONE, engine="c", skip_blank_lines=False)
                    cols = {}
                    for i, f in enumerate(fields):
                        col = frame[i].to_numpy(dtype=object)
                        col = np.where(col == unset, None, col)
                        cols[f] = np.where(col == empty, "", col)
                    get = (lambda cs: lambda k: cs.get(k))(cols)
                    parts.append((path or _zeek_path(fields), get, len(numbers), numbers))
        if h < len(raw):
            head, _, rest = raw[h].partition(" " if raw[h].startswith("#separator") else sep)
            if head == "#separator":
                rest = rest.strip()
                sep = re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m[1], 16)), rest) if rest else "\t"
                if len(sep) != 1:
                    from gridsage.errors import InputError

                    raise InputError(f"line {h + 1}: the #separator is not one character", field="source",
                                     fix="write Zeek logs with a one-character separator (default \\x09).")
            elif head == "#fields":
                fields = rest.split(sep)
            elif head == "#path":
                path = rest.strip() if re.fullmatch(r"\w{1,32}", rest.strip()) else "other"
            elif head == "#unset_field":
                unset = rest
            elif head == "#empty_field":
                empty = rest
    return _zeek_parts(parts, rejected)


# ---------------------------------------------------------------------------------------------------------- Suricata
_SURICATA_FIELDS = {"time_utc": "timestamp", "source": "src_ip", "destination": "dest_ip", "source_port": "src_port",
                    "destination_port": "dest_port"}


def _sub(values: list, key: str) -> list:
    return [v.get(key) if v.__class__ is dict else None for v in values]


def parse_suricata(text: str | None, objects: list[dict] | None = None, numbers: list[int] | None = None) -> Parsed:
    """Suricata EVE JSON lines: alerts -> 'alert'; modbus/dnp3 events -> their function; flows -> 'connection'."""
    import numpy as np

    rejected: list[tuple[int, str, str]] = []
    if objects is None:
        objects, numbers, rejected = json_lines(text)
    n = len(objects)
    col = lambda k: [o.get(k) for o in objects]  # noqa: E731
    et = _map_unique(col("event_type"), lambda e: e if isinstance(e, str) else "", n)
    app = col("app_proto")
    proto = col("proto")

    def protocol(triple):
        e, a, p = triple if triple is not None else ("", None, None)
        return ZEEK_SERVICES.get(e) or ZEEK_SERVICES.get(_lower(a)) or (_lower(p) if _lower(p) in ("tcp", "udp")
                                                                        else "other")

    proto_out = _map_unique([(e, a, p) for e, a, p in zip(et, app, proto)], protocol, n)
    kind = np.full(n, None, dtype=object)
    function = np.full(n, None, dtype=object)
    obj = np.full(n, None, dtype=object)
    value = np.full(n, None, dtype=object)
    status = np.full(n, None, dtype=object)
    message = np.full(n, None, dtype=object)
    known = np.zeros(n, dtype=bool)
    for name in ("alert", "modbus", "dnp3", "flow"):
        idx = np.flatnonzero(et == name)
        if not idx.size:
            continue
        known[idx] = True
        sub = [objects[i].get(name) for i in idx]
        if name == "alert":
            kind[idx] = "alert"
            function[idx] = _sub(sub, "signature_id")
            obj[idx] = _sub(sub, "category")
            value[idx] = _sub(sub, "severity")
            status[idx] = _sub(sub, "action")
            message[idx] = _sub(sub, "signature")
        elif name == "modbus":
            req, resp = _sub(sub, "request"), _sub(sub, "response")
            raw = _sub(req, "function_raw")
            named = _sub(req, "function_code")
            function[idx] = [r if r is not None else c for r, c in zip(raw, named)]
            addr = [r if r is not None else w for r, w in zip(_sub(_sub(req, "read"), "address"),
                                                              _sub(_sub(req, "write"), "address"))]
            obj[idx] = addr
            exc = _sub(resp, "exception_code")
            value[idx] = exc
            status[idx] = ["exception" if e is not None else None for e in exc]
        elif name == "dnp3":
            function[idx] = _sub(_sub(sub, "application"), "function_code")
            kind[idx] = [None if t in (None, "request") else "other" for t in _sub(sub, "type")]
        else:
            kind[idx], function[idx] = "connection", "flow"
            status[idx] = _sub(sub, "state")
    rest = np.flatnonzero(~known)
    kind[rest] = "other"
    function[rest] = et[rest]
    fmt = _map_unique(et, lambda e: f"suricata_{e}" if e in SURICATA_EVENT_TYPES else "suricata", n)
    return Parsed(line=list(numbers), time=col("timestamp"), time_kind="iso",
                  columns={"source": col("src_ip"), "destination": col("dest_ip"), "source_port": col("src_port"),
                           "destination_port": col("dest_port"), "protocol": proto_out, "kind": kind,
                           "function": function, "object": obj, "value": value, "user": None, "status": status,
                           "message": message},
                  formats=fmt, fields=_SURICATA_FIELDS, rejected=rejected)


# ------------------------------------------------------------------------------------------------------ detection
_CSV_PROTOCOL = {"time", "source", "protocol", "function"}


def detect(text: str) -> str | None:
    """The format of a payload from its first non-blank lines (never from a file name), or None."""
    lines, _ = split_lines(text[:65536])
    lines = lines[:20]
    if not lines:
        return None
    first = lines[0].lstrip("\ufeff")
    if first.startswith(("#separator", "#fields", "#path")):
        return "zeek"
    if first.startswith("#TYPE"):
        return "windows_csv"
    if first.startswith("["):
        return "windows_json"
    if first.startswith("{"):
        loads, errors = _loads()
        for line in lines:
            try:
                obj = loads(line)
            except (*errors, RecursionError):
                continue
            if isinstance(obj, dict):
                return detect_keys(obj.keys())
        return None
    header = {h.strip().strip('"').lower() for h in first.split(",")}
    if _CSV_PROTOCOL <= header:
        return "protocol_csv"
    if {"timecreated", "id"} <= header:
        return "windows_csv"
    if any(_SYSLOG_LINE.match(line).group(16) is None for line in lines):
        return "syslog"
    return None


def detect_keys(keys) -> str | None:
    """The format of a JSON object from its keys."""
    keys = set(keys)
    if "event_type" in keys and ("timestamp" in keys or "src_ip" in keys):
        return "suricata"
    if "ts" in keys and ({"id.orig_h", "uid", "_path"} & keys):
        return "zeek"
    if {"timecreated", "id"} <= {str(k).lower() for k in keys}:
        return "windows_json"
    if {"time", "source", "protocol", "function"} <= keys:
        return "protocol_csv"
    return None
