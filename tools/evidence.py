"""The evidence ledger: every tool result, stored with the input that made it.

An evidence id (``ev-0007``) resolves to an :class:`EvidenceRecord` holding the
tool name, its validated input and its full result, so that every number in an
assessment can be traced back to the computation that produced it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, Field

from gridsage.errors import InputError


class EvidenceRecord(BaseModel):
    """One tool call: what was asked, and what came back."""

    evidence_id: str = Field(description="Identifier cited by findings and actions, e.g. 'ev-0007'.")
    tool: str = Field(description="Name of the tool that produced the result.")
    inputs: dict[str, Any] = Field(description="The tool's validated arguments.")
    result: dict[str, Any] = Field(description="The tool's full result, as JSON.")
    recorded_utc: datetime = Field(description="When the result was recorded (UTC).")


class EvidenceLedger:
    """An in-memory, thread-safe store of :class:`EvidenceRecord` by id.

    Parameters
    ----------
    max_records : int, default 5000
        Bound on stored records; past it the oldest record is evicted, so a
        long-running server's memory stays bounded.
    """

    def __init__(self, max_records: int = 5000):
        self.max_records = max_records
        self._records: OrderedDict[str, EvidenceRecord] = OrderedDict()
        self._next = 1
        self._lock = threading.Lock()

    def record(self, tool: str, inputs: dict[str, Any], result: BaseModel) -> str:
        """Store a result and return its new evidence id.

        Parameters
        ----------
        tool : str
            Tool name.
        inputs : dict
            JSON-compatible validated arguments.
        result : pydantic.BaseModel
            The result; it is stored as JSON (``model_dump(mode='json')``).

        Returns
        -------
        str
            The evidence id, ``'ev-NNNN'``.
        """
        with self._lock:
            evidence_id = f"ev-{self._next:04d}"
            self._next += 1
            payload = result.model_dump(mode="json")
            payload["evidence_id"] = evidence_id
            self._records[evidence_id] = EvidenceRecord(
                evidence_id=evidence_id,
                tool=tool,
                inputs=inputs,
                result=payload,
                recorded_utc=datetime.now(timezone.utc),
            )
            while len(self._records) > self.max_records:
                self._records.popitem(last=False)
        return evidence_id

    def get(self, evidence_id: str) -> EvidenceRecord:
        """Return the record for ``evidence_id``.

        Raises
        ------
        InputError
            If the id is unknown (never issued, or evicted).
        """
        try:
            return self._records[evidence_id]
        except KeyError:
            raise InputError(
                f"no evidence with id {evidence_id!r}",
                field="evidence_id",
                fix="use an id returned by a tool in this session (they look like 'ev-0001').",
            ) from None

    def since(self, evidence_id: str | None) -> list[EvidenceRecord]:
        """Records issued after ``evidence_id`` (all records when ``None``), oldest first."""
        records = list(self._records.values())
        if evidence_id is None:
            return records
        ids = [r.evidence_id for r in records]
        return records[ids.index(evidence_id) + 1 :] if evidence_id in ids else records

    def last_id(self) -> str | None:
        """The most recently issued evidence id, or ``None`` when empty."""
        return next(reversed(self._records), None)

    def __len__(self) -> int:
        return len(self._records)
