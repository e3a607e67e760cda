"""SIP Call-ID <-> Genesys conversationId, from both sides (GENESYS.md §1 (8), §9.5; blog "SIP Call-ID and
Genesys Cloud ConversationId").

* Genesys side, through the SDK: ``conversationId`` -> ``GET /api/v2/analytics/conversations/{id}/details``
  gives the legs (participants' sessions) and each leg's SIP Call-ID (``protocolCallId``); a Call-ID ->
  ``POST …/details/query`` with a ``segmentFilters`` predicate on ``protocolCallId`` over the last
  ``days`` days (the emulator accepts up to 31, §9.5 INFERRED) gives the conversations that carried it.
* Device side: the device's SQLite call records (:mod:`takeback.device.records`) key each call by its
  Call-ID and store the ``x-inin-cnv`` conversationId the INVITE carried (§4.2), so either id finds the
  device's view of the call (outcome, take-back number, UUI in and out).

Joined, each Genesys leg gets the device record with the same Call-ID. A device record whose
``x-inin-cnv`` names another conversation than analytics does is reported as a mismatch. Without an API
(``client=None``) the device records alone answer, through ``x-inin-cnv``.

This module lives with provisioning because both are the Platform API side of takeback (the SDK client in
:mod:`.platform`); it only reads.
"""

from __future__ import annotations

import contextlib
import sqlite3
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..device.records import SCHEMA_VERSION, CallRecords, RecordsError
from .platform import ApiFailure, PlatformClient

__all__ = [
    "DEVICE_FIELDS",
    "Correlation",
    "Leg",
    "by_call_id",
    "by_conversation_id",
    "details_query",
    "device_rows",
    "legs_of",
]

Json = dict[str, Any]
#: The device record columns a correlation shows.
DEVICE_FIELDS = (
    "call_id",
    "from_tag",
    "conversation_id",
    "caller",
    "dnis",
    "outcome",
    "end_reason",
    "take_back_number",
    "uui_in",
    "uui_out",
    "invite_status",
    "refer_status",
    "notify_status",
    "invite_at",
    "end_at",
)


@dataclass(slots=True)
class Leg:
    """One session of a conversation: who (participant purpose/name) and its SIP Call-ID."""

    participant_id: str | None
    purpose: str | None
    name: str | None
    session_id: str | None
    direction: str | None
    call_id: str | None
    ani: str | None
    dnis: str | None
    device: list[Json] = field(default_factory=list)  # the device's records of this Call-ID

    def to_json(self) -> Json:
        return {
            "participant_id": self.participant_id,
            "purpose": self.purpose,
            "party": self.purpose,
            "name": self.name,
            "session_id": self.session_id,
            "direction": self.direction,
            "call_id": self.call_id,
            "ani": self.ani,
            "dnis": self.dnis,
            "device": self.device,
        }


@dataclass(slots=True)
class ConversationView:
    conversation_id: str
    start: str | None
    end: str | None
    legs: list[Leg]

    def to_json(self) -> Json:
        return {
            "conversation_id": self.conversation_id,
            "conversation_start": self.start,
            "conversation_end": self.end,
            "legs": [leg.to_json() for leg in self.legs],
        }


@dataclass(slots=True)
class Correlation:
    """The answer: what was asked, the conversations found, and the device records around them."""

    call_id: str | None = None
    conversation_id: str | None = None
    conversations: list[ConversationView] = field(default_factory=list)
    device_records: list[Json] = field(default_factory=list)  # records joined to no leg
    warnings: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.conversations) or any(self._device_rows())

    @property
    def ok(self) -> bool:
        return self.found and not self.mismatches

    def _device_rows(self) -> list[Json]:
        return self.device_records + [row for c in self.conversations for leg in c.legs for row in leg.device]

    def to_json(self) -> Json:
        return {
            "ok": self.ok,
            "call_id": self.call_id,
            "conversation_id": self.conversation_id,
            "conversation_ids": [c.conversation_id for c in self.conversations],
            "conversations": [c.to_json() for c in self.conversations],
            "device_records": self.device_records,
            "mismatches": self.mismatches,
            "warnings": self.warnings,
        }


# ----- Genesys side -----


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def details_query(call_id: str, *, now: datetime, days: int = 31) -> Json:
    """The ``ConversationQuery`` of GENESYS.md §9.5: ``protocolCallId`` matches ``call_id`` in the last
    ``days`` days (the interval ends a few minutes after ``now``, for clock skew)."""
    end = now + timedelta(minutes=5)
    start = end - timedelta(days=days)
    predicate = {"type": "dimension", "dimension": "protocolCallId", "operator": "matches", "value": call_id}
    return {
        "interval": f"{_iso(start)}/{_iso(end)}",
        "order": "asc",
        "orderBy": "conversationStart",
        "paging": {"pageSize": 25, "pageNumber": 1},
        "segmentFilters": [{"type": "and", "predicates": [predicate]}],
    }


def legs_of(details: Json) -> ConversationView:
    """The legs of an ``AnalyticsConversation``, in participant then session order."""
    legs = []
    for participant in details.get("participants") or []:
        for session in participant.get("sessions") or []:
            legs.append(
                Leg(
                    participant_id=participant.get("participantId"),
                    purpose=participant.get("purpose"),
                    name=participant.get("participantName"),
                    session_id=session.get("sessionId"),
                    direction=session.get("direction"),
                    call_id=session.get("protocolCallId"),
                    ani=session.get("ani"),
                    dnis=session.get("sessionDnis") or session.get("dnis"),
                )
            )
    return ConversationView(
        str(details.get("conversationId")),
        _text(details.get("conversationStart")),
        _text(details.get("conversationEnd")),
        legs,
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


# ----- device side -----


def _row(row: Json) -> Json:
    return {name: row.get(name) for name in DEVICE_FIELDS}


def device_rows(
    path: str | Path, *, call_id: str | None = None, conversation_id: str | None = None
) -> list[Json]:
    """The device's records of a Call-ID or of an ``x-inin-cnv`` conversationId (read-only)."""
    if call_id is not None:
        return [_row(row) for row in CallRecords(path).get(call_id)]
    path = Path(path)
    if not path.exists():
        raise RecordsError(f"no records database at {path}")
    try:
        uri = f"file:{urllib.parse.quote(str(path))}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as connection:
            connection.row_factory = sqlite3.Row
            (version,) = connection.execute("PRAGMA user_version").fetchone()
            if version != SCHEMA_VERSION:
                raise RecordsError(
                    f"records database {path} has schema version {version}, expected {SCHEMA_VERSION}"
                )
            rows = connection.execute(
                "SELECT * FROM calls WHERE conversation_id=? ORDER BY id", (conversation_id,)
            ).fetchall()
    except sqlite3.DatabaseError as exc:
        raise RecordsError(f"records database {path}: {exc}") from None
    return [_row(dict(row)) for row in rows]


def _join(result: Correlation, records: Path | None) -> None:
    """Attach device records to legs by Call-ID; check their x-inin-cnv against the conversation."""
    if records is None:
        return
    seen: set[tuple[Any, Any]] = set()
    for conversation in result.conversations:
        for leg in conversation.legs:
            if not leg.call_id:
                continue
            leg.device = device_rows(records, call_id=leg.call_id)
            for row in leg.device:
                seen.add((row["call_id"], row["from_tag"]))
                cnv = row.get("conversation_id")
                if cnv and cnv != conversation.conversation_id:
                    result.mismatches.append(
                        f"Call-ID {leg.call_id}: the device's x-inin-cnv is {cnv}, analytics says "
                        f"{conversation.conversation_id}"
                    )
        for row in device_rows(records, conversation_id=conversation.conversation_id):
            if (row["call_id"], row["from_tag"]) not in seen:
                result.device_records.append(row)
                seen.add((row["call_id"], row["from_tag"]))


# ----- the two directions -----


def by_call_id(
    client: PlatformClient | None,
    call_id: str,
    *,
    now: datetime,
    days: int = 31,
    records: str | Path | None = None,
) -> Correlation:
    """Call-ID -> conversations (analytics query), joined with the device records."""
    result = Correlation(call_id=call_id)
    path = Path(records) if records is not None else None
    local = device_rows(path, call_id=call_id) if path is not None else []
    if client is None:
        result.device_records = local
        return result
    found = client.query_conversations(details_query(call_id, now=now, days=days)).get("conversations") or []
    result.conversations = [legs_of(details) for details in found]
    known = {c.conversation_id for c in result.conversations}
    for cnv in dict.fromkeys(row["conversation_id"] for row in local if row.get("conversation_id")):
        if cnv in known:
            continue
        try:  # the device saw x-inin-cnv (the preferred correlation, §1 (8)) but the query did not
            result.conversations.append(legs_of(client.conversation_details(cnv)))
            result.warnings.append(f"the analytics query found no conversation; x-inin-cnv {cnv} did")
        except ApiFailure as exc:
            result.warnings.append(f"x-inin-cnv {cnv} from the device records: {exc}")
    _join(result, path)
    return result


def by_conversation_id(
    client: PlatformClient | None, conversation_id: str, *, records: str | Path | None = None
) -> Correlation:
    """conversationId -> its legs and their Call-IDs (analytics details), joined with the device records."""
    result = Correlation(conversation_id=conversation_id)
    path = Path(records) if records is not None else None
    if client is None:
        if path is not None:
            result.device_records = device_rows(path, conversation_id=conversation_id)
        return result
    try:
        result.conversations = [legs_of(client.conversation_details(conversation_id))]
    except ApiFailure as exc:
        if exc.status != 404:
            raise
        result.warnings.append(f"analytics has no conversation {conversation_id}")
        if path is not None:
            result.device_records = device_rows(path, conversation_id=conversation_id)
        return result
    _join(result, path)
    return result
