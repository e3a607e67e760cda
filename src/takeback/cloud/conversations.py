"""Conversations as Analytics sees them, filled live by the emulator's SIP side and served by the REST API.

GENESYS.md §9.5 and §11 item 7: one conversation per PSTN call, with participants ``customer`` (the
caller's leg), ``ivr`` (each Architect flow the call runs) and ``external`` (the leg to the device). Each
SIP leg is a session whose ``protocolCallId`` is that leg's actual SIP Call-ID, which is how a device
correlates its Call-ID with the ``conversationId`` [DOC BLOG]. Addresses are ``tel:+…`` [3P-ANA].

The data model mirrors the SDK's ``AnalyticsConversationWithoutAttributes`` / ``…Participant…`` /
``AnalyticsSession`` / ``AnalyticsConversationSegment`` so :meth:`Conversation.to_json` *is* the body of
``GET /api/v2/analytics/conversations/{id}/details``. Storage keeps that JSON too, which makes the
SQLite rows readable with any SQLite tool and guarantees the in-memory and SQLite stores serve the same
bytes.

Why a store with small mutation methods rather than "put the whole record"? The details are "available
right after the conversation starts" and the query "works while the conversation is still live" [DOC
BLOG]: the SIP side records each step as it happens (leg created, Call-ID known, segment changes, leg
ended), and every read sees the current state.

Times: each writer takes ``at`` (an aware UTC datetime); without it the store's injected clock is used.
Times are kept to the millisecond, the precision of the API's ``…T10:00:00.000Z``.
"""

from __future__ import annotations

import abc
import copy
import json
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = [
    "DIRECTIONS",
    "PURPOSES",
    "Conversation",
    "ConversationStore",
    "FlowInfo",
    "MemoryConversationStore",
    "Participant",
    "Segment",
    "Session",
    "SqliteConversationStore",
    "format_time",
    "open_conversation_store",
    "parse_time",
    "tel_uri",
]

# [DOC SDK] AnalyticsParticipant purpose and AnalyticsSession direction enums (GENESYS.md §9.5).
PURPOSES: frozenset[str] = frozenset(
    {
        "acd",
        "agent",
        "api",
        "botflow",
        "campaign",
        "customer",
        "dialer",
        "external",
        "fax",
        "group",
        "inbound",
        "ivr",
        "manual",
        "outbound",
        "station",
        "user",
        "voicemail",
        "voicesurveyflow",
        "workflow",
    }
)
DIRECTIONS: frozenset[str] = frozenset({"inbound", "outbound"})

Clock = Callable[[], datetime]


# ----- times and addresses -----


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _ms(moment: datetime) -> datetime:
    """UTC, truncated to the millisecond (what the API shows and what storage round-trips)."""
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone; pass an aware UTC datetime")
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def format_time(moment: datetime) -> str:
    """``2026-01-05T10:00:00.000Z``: the Platform API's timestamp form."""
    moment = _ms(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    """An ISO-8601 timestamp; a missing offset means UTC (Analytics intervals are UTC)."""
    moment = datetime.fromisoformat(text.strip())
    return _ms(moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC))


def tel_uri(address: str) -> str:
    """``+13175551234`` -> ``tel:+13175551234`` [3P-ANA]; an address that already has a scheme is kept."""
    text = address.strip()
    if ":" in text.split("@", 1)[0]:
        return text
    return f"tel:{text}"


# ----- the record -----


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _json_of(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_time(value)
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, list):
        return [_json_of(item) for item in value]
    return value


def _to_json(record: Any) -> dict[str, Any]:
    """camelCase keys; None and empty lists are left out, as the Platform API does."""
    body: dict[str, Any] = {}
    for item in fields(record):
        value = getattr(record, item.name)
        if value is None or value == []:
            continue
        body[_camel(item.name)] = _json_of(value)
    return body


def _kwargs(
    cls: type, data: Mapping[str, Any], convert: Mapping[str, Callable[[Any], Any]]
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for item in fields(cls):
        key = _camel(item.name)
        if key in data and data[key] is not None:
            converter = convert.get(item.name)
            result[item.name] = converter(data[key]) if converter else copy.deepcopy(data[key])
    return result


@dataclass(slots=True)
class Segment:
    """``AnalyticsConversationSegment``: one state of a session (``interact``, ``ivr``, ``alert`` …)."""

    segment_type: str
    segment_start: datetime
    segment_end: datetime | None = None
    disconnect_type: str | None = None
    sip_response_codes: list[int] = field(default_factory=list)
    q850_response_codes: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Segment:
        return cls(**_kwargs(cls, data, {"segment_start": parse_time, "segment_end": parse_time}))


@dataclass(slots=True)
class FlowInfo:
    """``AnalyticsFlow`` of an ``ivr`` session: which Architect flow ran and where it transferred."""

    flow_name: str
    flow_type: str = "INBOUNDCALL"
    flow_id: str | None = None
    flow_version: str | None = None
    entry_type: str | None = None
    exit_reason: str | None = None
    transfer_type: str | None = None
    transfer_target_address: str | None = None
    transfer_target_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FlowInfo:
        return cls(**_kwargs(cls, data, {}))


@dataclass(slots=True)
class Session:
    """``AnalyticsSession``: one leg. ``protocol_call_id`` is "the original voice protocol call ID, e.g. a
    SIP call ID" [DOC SDK]; ``peer_id`` links it to the session it was bridged with."""

    session_id: str
    direction: str
    media_type: str = "voice"
    ani: str | None = None
    dnis: str | None = None
    session_dnis: str | None = None
    protocol_call_id: str | None = None
    peer_id: str | None = None
    provider: str | None = "Edge"
    remote: str | None = None
    edge_id: str | None = None
    flow: FlowInfo | None = None
    segments: list[Segment] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Session:
        return cls(
            **_kwargs(
                cls,
                data,
                {
                    "flow": FlowInfo.from_json,
                    "segments": lambda items: [Segment.from_json(item) for item in items],
                },
            )
        )

    @property
    def open_segment(self) -> Segment | None:
        return self.segments[-1] if self.segments and self.segments[-1].segment_end is None else None


@dataclass(slots=True)
class Participant:
    """``AnalyticsParticipantWithoutAttributes``: ``customer``, ``ivr``, ``external`` … with its sessions."""

    participant_id: str
    purpose: str
    participant_name: str | None = None
    sessions: list[Session] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Participant:
        return cls(
            **_kwargs(cls, data, {"sessions": lambda items: [Session.from_json(item) for item in items]})
        )


@dataclass(slots=True)
class Conversation:
    """``AnalyticsConversationWithoutAttributes``: what GET …/conversations/{id}/details returns."""

    conversation_id: str
    conversation_start: datetime
    conversation_end: datetime | None = None
    originating_direction: str = "inbound"
    division_ids: list[str] = field(default_factory=list)
    participants: list[Participant] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Conversation:
        convert: dict[str, Callable[[Any], Any]] = {
            "conversation_start": parse_time,
            "conversation_end": parse_time,
            "participants": lambda items: [Participant.from_json(item) for item in items],
        }
        return cls(**_kwargs(cls, data, convert))

    def participant(self, participant_id: str) -> Participant:
        for participant in self.participants:
            if participant.participant_id == participant_id:
                return participant
        raise KeyError(f"conversation {self.conversation_id} has no participant {participant_id}")

    def session(self, session_id: str) -> Session:
        for _, session in self.sessions():
            if session.session_id == session_id:
                return session
        raise KeyError(f"conversation {self.conversation_id} has no session {session_id}")

    def sessions(self) -> Iterator[tuple[Participant, Session]]:
        for participant in self.participants:
            for session in participant.sessions:
                yield participant, session

    @property
    def protocol_call_ids(self) -> list[str]:
        """Every leg's SIP Call-ID, in participant order (one per leg, DOC BLOG)."""
        return [s.protocol_call_id for _, s in self.sessions() if s.protocol_call_id]


# ----- the store -----


class ConversationStore(abc.ABC):
    """Where the SIP side records conversations and the Analytics API reads them.

    Writers (SIP side): :meth:`start_conversation`, :meth:`add_participant`, :meth:`add_session`,
    :meth:`set_protocol_call_id`, :meth:`start_segment`, :meth:`end_session`, :meth:`end_conversation`,
    or :meth:`put` for a whole record. Readers (REST API): :meth:`get`, :meth:`find_by_protocol_call_id`,
    :meth:`started_between`. Readers get copies: changing them changes nothing stored.

    Writers raise :class:`KeyError` for an unknown conversation/participant/session id and
    :class:`ValueError` for values outside the SDK enums; both are bugs of the caller.
    """

    def __init__(self, *, clock: Clock | None = None, new_id: Callable[[], str] | None = None) -> None:
        self._clock = clock or _utc_now
        self._new_id = new_id or (lambda: str(uuid.uuid4()))

    # --- storage primitives (one implementation per backend) ---

    @abc.abstractmethod
    def _load(self, conversation_id: str) -> Conversation | None: ...

    @abc.abstractmethod
    def _save(self, conversation: Conversation) -> None: ...

    @abc.abstractmethod
    def _ids_for_call_id(self, call_id: str) -> list[str]: ...

    @abc.abstractmethod
    def _ids_started_between(self, start: datetime, end: datetime) -> list[str]: ...

    def close(self) -> None:  # noqa: B027 - optional hook: only backends holding resources override it
        """Release the backend (a no-op in memory)."""

    # --- writing ---

    def _time(self, at: datetime | None) -> datetime:
        return _ms(at if at is not None else self._clock())

    def _required(self, conversation_id: str) -> Conversation:
        conversation = self._load(conversation_id)
        if conversation is None:
            raise KeyError(f"no conversation {conversation_id}")
        return conversation

    def start_conversation(
        self,
        *,
        conversation_id: str | None = None,
        at: datetime | None = None,
        originating_direction: str = "inbound",
        division_ids: Iterable[str] = (),
    ) -> Conversation:
        """A new conversation (x-inin-cnv carries its id, GENESYS.md §4.2); returns a copy of it."""
        _check(originating_direction, DIRECTIONS, "originating_direction")
        conversation = Conversation(
            conversation_id=conversation_id or self._new_id(),
            conversation_start=self._time(at),
            originating_direction=originating_direction,
            division_ids=list(division_ids),
        )
        if self._load(conversation.conversation_id) is not None:
            raise ValueError(f"conversation {conversation.conversation_id} exists already")
        self._save(conversation)
        return copy.deepcopy(conversation)

    def add_participant(
        self,
        conversation_id: str,
        purpose: str,
        *,
        name: str | None = None,
        participant_id: str | None = None,
    ) -> str:
        """Add a participant (``customer``, ``ivr``, ``external`` …); returns its id."""
        _check(purpose, PURPOSES, "purpose")
        conversation = self._required(conversation_id)
        participant = Participant(participant_id or self._new_id(), purpose, name)
        conversation.participants.append(participant)
        self._save(conversation)
        return participant.participant_id

    def add_session(
        self,
        conversation_id: str,
        participant_id: str,
        *,
        direction: str,
        protocol_call_id: str | None = None,
        ani: str | None = None,
        dnis: str | None = None,
        session_dnis: str | None = None,
        peer_id: str | None = None,
        media_type: str = "voice",
        flow: FlowInfo | None = None,
        segment_type: str | None = None,
        session_id: str | None = None,
        at: datetime | None = None,
    ) -> str:
        """Add a leg to a participant; returns its session id.

        ``ani``/``dnis``/``session_dnis`` are numbers or URIs; bare numbers become ``tel:`` URIs.
        ``segment_type`` opens a first segment (``interact`` for a connected call, ``ivr`` in a flow).
        """
        _check(direction, DIRECTIONS, "direction")
        conversation = self._required(conversation_id)
        participant = conversation.participant(participant_id)
        session = Session(
            session_id=session_id or self._new_id(),
            direction=direction,
            media_type=media_type,
            ani=tel_uri(ani) if ani else None,
            dnis=tel_uri(dnis) if dnis else None,
            session_dnis=tel_uri(session_dnis) if session_dnis else None,
            protocol_call_id=protocol_call_id,
            peer_id=peer_id,
            flow=flow,
        )
        if segment_type is not None:
            session.segments.append(Segment(segment_type, self._time(at)))
        participant.sessions.append(session)
        self._save(conversation)
        return session.session_id

    def set_protocol_call_id(self, conversation_id: str, session_id: str, call_id: str) -> None:
        """Record a leg's SIP Call-ID once it is known (e.g. when the INVITE is built)."""
        conversation = self._required(conversation_id)
        conversation.session(session_id).protocol_call_id = call_id
        self._save(conversation)

    def start_segment(
        self, conversation_id: str, session_id: str, segment_type: str, *, at: datetime | None = None
    ) -> None:
        """Close the session's open segment (if any) and open a ``segment_type`` one at ``at``."""
        conversation = self._required(conversation_id)
        session = conversation.session(session_id)
        moment = self._time(at)
        if session.open_segment is not None:
            session.open_segment.segment_end = moment
        session.segments.append(Segment(segment_type, moment))
        self._save(conversation)

    def end_session(
        self,
        conversation_id: str,
        session_id: str,
        *,
        disconnect_type: str | None = None,
        sip_response_code: int | None = None,
        q850_cause: int | None = None,
        at: datetime | None = None,
    ) -> None:
        """Close the session's open segment with how it ended (``endpoint``, ``peer``, ``transfer`` …)."""
        conversation = self._required(conversation_id)
        session = conversation.session(session_id)
        segment = session.open_segment
        if segment is None:
            segment = Segment("interact", self._time(at))
            session.segments.append(segment)
        segment.segment_end = self._time(at)
        segment.disconnect_type = disconnect_type
        if sip_response_code is not None:
            segment.sip_response_codes.append(sip_response_code)
        if q850_cause is not None:
            segment.q850_response_codes.append(q850_cause)
        self._save(conversation)

    def end_conversation(self, conversation_id: str, *, at: datetime | None = None) -> None:
        """Set ``conversationEnd`` and close every segment still open (disconnect type ``system``)."""
        conversation = self._required(conversation_id)
        moment = self._time(at)
        for _, session in conversation.sessions():
            segment = session.open_segment
            if segment is not None:
                segment.segment_end = moment
                segment.disconnect_type = segment.disconnect_type or "system"
        conversation.conversation_end = moment
        self._save(conversation)

    def put(self, conversation: Conversation) -> None:
        """Store a whole record (imports, tests), replacing one with the same id."""
        for participant, session in conversation.sessions():
            _check(participant.purpose, PURPOSES, "purpose")
            _check(session.direction, DIRECTIONS, "direction")
        self._save(copy.deepcopy(conversation))

    # --- reading ---

    def get(self, conversation_id: str) -> Conversation | None:
        return self._load(conversation_id)

    def find_by_protocol_call_id(self, call_id: str) -> list[Conversation]:
        """The conversations one of whose legs has this SIP Call-ID (normally one)."""
        found = (self._load(cid) for cid in self._ids_for_call_id(call_id))
        return sorted(
            (c for c in found if c is not None and call_id in c.protocol_call_ids),
            key=lambda c: c.conversation_start,
        )

    def started_between(self, start: datetime, end: datetime) -> list[Conversation]:
        """Conversations with ``start <= conversationStart < end``, oldest first."""
        found = (self._load(cid) for cid in self._ids_started_between(_ms(start), _ms(end)))
        return sorted((c for c in found if c is not None), key=lambda c: c.conversation_start)


def _check(value: str, allowed: frozenset[str], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"{what} {value!r} is not one of {', '.join(sorted(allowed))}")


class MemoryConversationStore(ConversationStore):
    """Conversations in a dict: the default of the single-process emulator."""

    def __init__(self, *, clock: Clock | None = None, new_id: Callable[[], str] | None = None) -> None:
        super().__init__(clock=clock, new_id=new_id)
        self._records: dict[str, Conversation] = {}
        self._by_call_id: dict[str, set[str]] = {}

    def _load(self, conversation_id: str) -> Conversation | None:
        record = self._records.get(conversation_id)
        return copy.deepcopy(record) if record is not None else None

    def _save(self, conversation: Conversation) -> None:
        self._records[conversation.conversation_id] = conversation
        for call_id in conversation.protocol_call_ids:
            self._by_call_id.setdefault(call_id, set()).add(conversation.conversation_id)

    def _ids_for_call_id(self, call_id: str) -> list[str]:
        return sorted(self._by_call_id.get(call_id, ()))

    def _ids_started_between(self, start: datetime, end: datetime) -> list[str]:
        return [cid for cid, c in self._records.items() if start <= c.conversation_start < end]

    def __len__(self) -> int:
        return len(self._records)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    conversation_id TEXT PRIMARY KEY,
    start_us INTEGER NOT NULL,
    end_us INTEGER,
    details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_start ON conversations (start_us);
CREATE TABLE IF NOT EXISTS protocol_call_ids (
    call_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations (conversation_id) ON DELETE CASCADE,
    PRIMARY KEY (call_id, conversation_id)
);
"""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


class SqliteConversationStore(ConversationStore):
    """Conversations in SQLite (stdlib ``sqlite3``, DESIGN.md §4): they survive the emulator process.

    One row per conversation holds the details JSON; ``protocol_call_ids`` indexes the legs' Call-IDs
    for the reverse lookup. Each write commits (WAL, ``synchronous=NORMAL``), so another process reading
    the file sees live conversations. ``path=":memory:"`` gives a private in-memory database.
    """

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        clock: Clock | None = None,
        new_id: Callable[[], str] | None = None,
    ) -> None:
        super().__init__(clock=clock, new_id=new_id)
        self.path = str(path)
        # one thread at a time (the emulator's loop), but not necessarily the thread that opened it
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA foreign_keys = ON")
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.executescript(_SCHEMA)

    def _load(self, conversation_id: str) -> Conversation | None:
        row = self._db.execute(
            "SELECT details FROM conversations WHERE conversation_id = ?", (conversation_id,)
        ).fetchone()
        return Conversation.from_json(json.loads(row[0])) if row is not None else None

    def _save(self, conversation: Conversation) -> None:
        end = conversation.conversation_end
        with self._transaction():
            self._db.execute(
                "INSERT INTO conversations (conversation_id, start_us, end_us, details) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (conversation_id) DO UPDATE SET start_us = excluded.start_us, "
                "end_us = excluded.end_us, details = excluded.details",
                (
                    conversation.conversation_id,
                    _micros(conversation.conversation_start),
                    _micros(end) if end is not None else None,
                    json.dumps(conversation.to_json(), separators=(",", ":")),
                ),
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO protocol_call_ids (call_id, conversation_id) VALUES (?, ?)",
                [(call_id, conversation.conversation_id) for call_id in conversation.protocol_call_ids],
            )

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def _ids_for_call_id(self, call_id: str) -> list[str]:
        rows = self._db.execute(
            "SELECT conversation_id FROM protocol_call_ids WHERE call_id = ? ORDER BY conversation_id",
            (call_id,),
        )
        return [row[0] for row in rows]

    def _ids_started_between(self, start: datetime, end: datetime) -> list[str]:
        rows = self._db.execute(
            "SELECT conversation_id FROM conversations "
            "WHERE start_us >= ? AND start_us < ? ORDER BY start_us",
            (_micros(start), _micros(end)),
        )
        return [row[0] for row in rows]

    def close(self) -> None:
        self._db.close()


class _Transaction:
    """``BEGIN … COMMIT`` (``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN")

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")


def open_conversation_store(
    path: str | Path | None = None, *, clock: Clock | None = None
) -> ConversationStore:
    """In memory without a path (the embedded default), SQLite at ``path`` otherwise."""
    if path is None:
        return MemoryConversationStore(clock=clock)
    return SqliteConversationStore(path, clock=clock)
