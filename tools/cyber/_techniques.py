"""The MITRE ATT&CK for ICS techniques GridSage detects or names: id, name, tactic(s) and data sources.

A subset of ATT&CK for ICS version 16.1 (the corpus entries under ``knowledge/corpus/attack-ics/`` follow the
same edition, v16): the techniques that control-system logs can show and GridSage's triage maps to (discovery,
unauthorised commands, parameter and program changes, loss of view or control, valid accounts, rogue masters,
firmware and operating-mode changes).  Tactics are given in the matrix's column order; data sources as
``"Data Source: Data Component"``.  Any other ATT&CK for ICS id is refused by :func:`technique`.

© The MITRE Corporation. This work is reproduced and distributed with the permission of The MITRE Corporation.
MITRE ATT&CK and ATT&CK are registered trademarks of The MITRE Corporation.

References
----------
.. [1] MITRE ATT&CK for ICS, version 16.1, https://attack.mitre.org/versions/v16/matrices/ics/
.. [2] MITRE ATT&CK Terms of Use, https://attack.mitre.org/resources/legal-and-branding/terms-of-use/
"""

from __future__ import annotations

from dataclasses import dataclass

from gridsage.errors import InputError

#: the ATT&CK for ICS version this table follows
ATTACK_ICS_VERSION = "16.1"
#: the attribution ATT&CK's terms of use require wherever the table (or text from it) is reproduced
ATTACK_ICS_ATTRIBUTION = ("© The MITRE Corporation. This work is reproduced and distributed with the permission of "
                          "The MITRE Corporation.")
#: the tactics of ATT&CK for ICS, in the matrix's column order
TACTICS = ("Initial Access", "Execution", "Persistence", "Privilege Escalation", "Evasion", "Discovery",
           "Lateral Movement", "Collection", "Command and Control", "Inhibit Response Function",
           "Impair Process Control", "Impact")


@dataclass(frozen=True)
class Technique:
    """One ATT&CK for ICS technique.

    Attributes
    ----------
    id : str
        Technique id, e.g. ``'T0846'``.
    name : str
        Technique name, e.g. ``'Remote System Discovery'``.
    tactics : tuple of str
        The tactic(s) it belongs to (values of :data:`TACTICS`).
    data_sources : tuple of str
        ATT&CK data sources and components that can show it, e.g.
        ``'Network Traffic: Network Traffic Flow'``; empty for Impact techniques.
    """

    id: str
    name: str
    tactics: tuple[str, ...]
    data_sources: tuple[str, ...]

    @property
    def url(self) -> str:
        """The technique's page in the ATT&CK version followed [-]."""
        return f"https://attack.mitre.org/versions/v16/techniques/{self.id}/"


def _t(id: str, name: str, tactics: tuple[str, ...], data_sources: tuple[str, ...]) -> Technique:
    return Technique(id, name, tactics, data_sources)


#: every ATT&CK for ICS v16.1 technique, by id
TECHNIQUES: dict[str, Technique] = {t.id: t for t in (
    _t('T0812', 'Default Credentials',
       ('Lateral Movement',),
       ('Logon Session: Logon Session Creation', 'Network Traffic: Network Traffic Content')),
    _t('T0814', 'Denial of Service',
       ('Inhibit Response Function',),
       ('Application Log: Application Log Content', 'Network Traffic: Network Traffic Content', 'Network Traffic: Network Traffic Flow', 'Operational Databases: Process History/Live Data')),
    _t('T0815', 'Denial of View',
       ('Impact',),
       ()),
    _t('T0816', 'Device Restart/Shutdown',
       ('Inhibit Response Function',),
       ('Application Log: Application Log Content', 'Network Traffic: Network Traffic Content', 'Network Traffic: Network Traffic Flow', 'Operational Databases: Device Alarm')),
    _t('T0822', 'External Remote Services',
       ('Initial Access',),
       ('Application Log: Application Log Content', 'Logon Session: Logon Session Metadata', 'Network Traffic: Network Traffic Flow')),
    _t('T0827', 'Loss of Control',
       ('Impact',),
       ()),
    _t('T0829', 'Loss of View',
       ('Impact',),
       ()),
    _t('T0831', 'Manipulation of Control',
       ('Impact',),
       ()),
    _t('T0836', 'Modify Parameter',
       ('Impair Process Control',),
       ('Application Log: Application Log Content', 'Asset: Asset Inventory', 'Network Traffic: Network Traffic Content', 'Operational Databases: Device Alarm')),
    _t('T0839', 'Module Firmware',
       ('Persistence', 'Impair Process Control'),
       ('Application Log: Application Log Content', 'Firmware: Firmware Modification', 'Network Traffic: Network Traffic Content', 'Operational Databases: Device Alarm')),
    _t('T0840', 'Network Connection Enumeration',
       ('Discovery',),
       ('Command: Command Execution', 'Process: OS API Execution', 'Process: Process Creation', 'Script: Script Execution')),
    _t('T0843', 'Program Download',
       ('Lateral Movement',),
       ('Application Log: Application Log Content', 'Asset: Asset Inventory', 'Network Traffic: Network Traffic Content', 'Operational Databases: Device Alarm')),
    _t('T0846', 'Remote System Discovery',
       ('Discovery',),
       ('File: File Access', 'Network Traffic: Network Traffic Content', 'Network Traffic: Network Traffic Flow', 'Process: Process Creation')),
    _t('T0848', 'Rogue Master',
       ('Initial Access',),
       ('Application Log: Application Log Content', 'Asset: Asset Inventory', 'Network Traffic: Network Traffic Content', 'Network Traffic: Network Traffic Flow', 'Operational Databases: Device Alarm')),
    _t('T0855', 'Unauthorized Command Message',
       ('Impair Process Control',),
       ('Application Log: Application Log Content', 'Network Traffic: Network Traffic Content', 'Network Traffic: Network Traffic Flow', 'Operational Databases: Process History/Live Data', 'Operational Databases: Process/Event Alarm')),
    _t('T0856', 'Spoof Reporting Message',
       ('Evasion', 'Impair Process Control'),
       ('Network Traffic: Network Traffic Content', 'Network Traffic: Network Traffic Flow', 'Operational Databases: Device Alarm', 'Windows Registry: Windows Registry Key Modification')),
    _t('T0857', 'System Firmware',
       ('Persistence', 'Inhibit Response Function'),
       ('Application Log: Application Log Content', 'Firmware: Firmware Modification', 'Network Traffic: Network Traffic Content', 'Operational Databases: Device Alarm')),
    _t('T0858', 'Change Operating Mode',
       ('Execution', 'Evasion'),
       ('Application Log: Application Log Content', 'Network Traffic: Network Traffic Content', 'Operational Databases: Device Alarm')),
    _t('T0859', 'Valid Accounts',
       ('Persistence', 'Lateral Movement'),
       ('Logon Session: Logon Session Creation', 'Logon Session: Logon Session Metadata', 'User Account: User Account Authentication')),
    _t('T0886', 'Remote Services',
       ('Initial Access', 'Lateral Movement'),
       ('Command: Command Execution', 'Logon Session: Logon Session Creation', 'Module: Module Load', 'Network Share: Network Share Access', 'Network Traffic: Network Connection Creation', 'Network Traffic: Network Traffic Flow', 'Process: Process Creation')),
    _t('T0888', 'Remote System Information Discovery',
       ('Discovery',),
       ('File: File Access', 'Network Traffic: Network Traffic Content', 'Network Traffic: Network Traffic Flow', 'Process: Process Creation')),
)}


def technique(technique_id: str) -> Technique:
    """The ATT&CK for ICS technique with this id.

    Parameters
    ----------
    technique_id : str
        E.g. ``'T0855'`` (case-insensitive, surrounding spaces ignored).

    Returns
    -------
    Technique

    Raises
    ------
    InputError
        If the id is not one of the ATT&CK for ICS v16.1 techniques in :data:`TECHNIQUES`.
    """
    key = str(technique_id).strip().upper()
    if key not in TECHNIQUES:
        raise InputError(f"{key[:20]!r} is not an ATT&CK for ICS v{ATTACK_ICS_VERSION} technique id", field="technique_id",
                         fix="give an id such as 'T0846' (see gridsage.tools.cyber._techniques.TECHNIQUES).")
    return TECHNIQUES[key]
