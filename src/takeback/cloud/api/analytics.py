"""Analytics conversation details: GET by id, multi-get, and the details query (GENESYS.md §9.5).

The reverse lookup a device does is ``POST /api/v2/analytics/conversations/details/query`` with a
``segmentFilters`` predicate on ``protocolCallId`` [DOC BLOG]. Semantics implemented:

* ``interval`` ``start/end`` (ISO-8601) is required; "results will only include conversations that
  started on a day touched by the interval" [DOC SDK], so the UTC days the interval touches are what
  counts; longer than ``Policies.analytics_max_interval_days`` is 400 (§9.5 INFERRED).
* ``segmentFilters``: a filter holds when one segment (with its session, participant and conversation
  around it) satisfies it; a session without segments yet counts as one empty segment, so a live leg is
  found as soon as its Call-ID is recorded. ``conversationFilters`` test the conversation's own fields.
  Filters in a list must all hold; a filter combines its ``predicates`` and ``clauses`` with its
  ``type`` (``and``/``or``), a clause its predicates with the clause's ``type`` [DOC SDK].
* Predicates: ``type`` ``dimension`` (the default) with ``operator`` ``matches`` (exact value; a list
  field such as ``sipResponseCodes`` or ``divisionIds`` matches when an item does), ``exists`` or
  ``notExists``. The dimension is the camelCase field name of the details JSON (``protocolCallId``,
  ``ani``, ``purpose``, ``direction``, ``segmentType``, ``conversationId``, ``divisionId`` …).
  ``property``/``metric`` predicates are 400: the emulator records no properties or metrics.
* ``order`` asc|desc (unordered = asc) by ``orderBy`` conversationStart|conversationEnd|segmentStart|
  segmentEnd; ``paging`` pageSize 1-100, pageNumber from 1 (INFERRED limits).
* Response ``{"conversations": [...], "totalHits": n}``; ``conversations`` is left out with no hit (§9.5).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal

from ..conversations import Conversation, ConversationStore, parse_time
from .errors import ApiError, bad_request, not_found
from .params import Body

__all__ = [
    "DetailQuery",
    "Filter",
    "Predicate",
    "conversation_details",
    "multi_get",
    "parse_query",
    "run_query",
]

MAX_PAGE_SIZE = 100
_ORDER_BY = ("conversationStart", "conversationEnd", "segmentStart", "segmentEnd")
Join = Literal["and", "or"]
Operator = Literal["matches", "exists", "notExists"]
_JOINS: dict[str, Join] = {"and": "and", "or": "or"}
_OPERATORS: dict[str, Operator] = {"matches": "matches", "exists": "exists", "notExists": "notExists"}
Context = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Predicate:
    dimension: str
    operator: Operator
    value: str | None

    def holds(self, context: Context) -> bool:
        value = context.get(self.dimension)
        present = value is not None and value != []
        if self.operator == "exists":
            return present
        if self.operator == "notExists":
            return not present
        items = value if isinstance(value, list) else [value]
        return present and any(_text(item) == self.value for item in items)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True, slots=True)
class Filter:
    """A filter or a clause: predicates (and nested clauses) joined by ``join``."""

    join: Join
    predicates: tuple[Predicate, ...]
    clauses: tuple[Filter, ...] = ()

    def holds(self, context: Context) -> bool:
        results = [p.holds(context) for p in self.predicates] + [c.holds(context) for c in self.clauses]
        if not results:
            return True
        return all(results) if self.join == "and" else any(results)


@dataclass(frozen=True, slots=True)
class DetailQuery:
    start: datetime
    end: datetime
    conversation_filters: tuple[Filter, ...]
    segment_filters: tuple[Filter, ...]
    descending: bool
    order_by: str
    page_size: int
    page_number: int

    @property
    def days(self) -> tuple[datetime, datetime]:
        """From midnight of the first UTC day the interval touches to midnight after the last one."""
        first = datetime.combine(self.start.date(), time(), tzinfo=UTC)
        last = datetime.combine((self.end - timedelta(microseconds=1)).date(), time(), tzinfo=UTC)
        return first, last + timedelta(days=1)


# ----- parsing -----


def parse_query(data: Any, *, max_interval_days: int) -> DetailQuery:
    """A ``ConversationQuery`` body, or a 400 naming the field."""
    body = Body(data)
    start, end = _interval(body.required_text("interval"), max_interval_days)
    order = body.choice("order", ("asc", "desc", "unordered"), "asc")
    order_by = body.choice("orderBy", _ORDER_BY, "conversationStart")
    raw_paging = body.data.get("paging")
    paging = Body(raw_paging if raw_paging is not None else {}, "paging")
    page_size = _default(paging.integer("pageSize"), 25)
    page_number = _default(paging.integer("pageNumber"), 1)
    if not 1 <= page_size <= MAX_PAGE_SIZE or page_number < 1:
        raise bad_request(f"paging: pageSize is 1-{MAX_PAGE_SIZE} and pageNumber starts at 1", field="paging")
    return DetailQuery(
        start=start,
        end=end,
        conversation_filters=_filters(body, "conversationFilters"),
        segment_filters=_filters(body, "segmentFilters"),
        descending=order == "desc",
        order_by=order_by,
        page_size=page_size,
        page_number=page_number,
    )


def _default(value: int | None, default: int) -> int:
    return default if value is None else value


def _interval(text: str, max_days: int) -> tuple[datetime, datetime]:
    first, sep, second = text.partition("/")
    try:
        if not sep:
            raise ValueError(text)
        start, end = parse_time(first), parse_time(second)
    except (ValueError, OverflowError):
        raise bad_request(
            "interval must be ISO-8601 'start/end', e.g. 2026-01-05T00:00:00.000Z/2026-01-06T00:00:00.000Z",
            field="interval",
        ) from None
    if end <= start:
        raise bad_request("interval end must be after its start", field="interval")
    if start.year < 1970 or end.year > 9000:
        raise bad_request("interval must lie between the years 1970 and 9000", field="interval")
    if end - start > timedelta(days=max_days):
        raise bad_request(f"interval is longer than {max_days} days", field="interval")
    return start, end


def _filters(body: Body, name: str) -> tuple[Filter, ...]:
    raw = body.data.get(name)
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise bad_request(f"{name} must be a list of filters", field=name)
    return tuple(_filter(item, f"{name}[{index}]", depth=0) for index, item in enumerate(raw))


def _filter(data: Any, where: str, *, depth: int) -> Filter:
    body = Body(data, where)
    join = _JOINS[body.choice("type", tuple(_JOINS), "")] if body.has("type") else None
    if join is None:
        raise bad_request(f"{where}.type is required (and, or)", field=f"{where}.type")
    predicates = _list(body, "predicates", where)
    clauses = _list(body, "clauses", where) if depth == 0 else []
    return Filter(
        join,
        tuple(_predicate(item, f"{where}.predicates[{i}]") for i, item in enumerate(predicates)),
        tuple(_filter(item, f"{where}.clauses[{i}]", depth=1) for i, item in enumerate(clauses)),
    )


def _list(body: Body, name: str, where: str) -> list[Any]:
    raw = body.data.get(name)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise bad_request(f"{where}.{name} must be a list", field=f"{where}.{name}")
    return raw


def _predicate(data: Any, where: str) -> Predicate:
    body = Body(data, where)
    kind = body.text("type", default="dimension")
    if kind != "dimension":  # also "": not a predicate type
        raise bad_request(
            f"{where}.type {kind!r} is not supported: the emulator filters on dimensions only",
            field=f"{where}.type",
        )
    dimension = body.required_text("dimension")
    operator = _OPERATORS[body.choice("operator", tuple(_OPERATORS), "matches")]
    value = body.text("value")
    if operator == "matches" and value is None:
        raise bad_request(f"{where}.value is required with operator matches", field=f"{where}.value")
    return Predicate(dimension, operator, value)


# ----- running -----


def _conversation_context(doc: Mapping[str, Any]) -> dict[str, Any]:
    context = {key: value for key, value in doc.items() if key != "participants"}
    context["divisionId"] = doc.get("divisionIds", [])
    return context


def _segment_contexts(doc: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """One flat dict per segment: conversation < participant < session < segment fields."""
    base = _conversation_context(doc)
    for participant in doc.get("participants", []):
        p_fields = {k: v for k, v in participant.items() if k != "sessions"}
        for session in participant.get("sessions", []):
            s_fields = {k: v for k, v in session.items() if k not in ("segments", "flow")}
            flow = session.get("flow") or {}
            for segment in session.get("segments") or [{}]:
                yield {**base, **p_fields, **flow, **s_fields, **segment}


def _matches(doc: Mapping[str, Any], query: DetailQuery) -> bool:
    conversation = _conversation_context(doc)
    if not all(f.holds(conversation) for f in query.conversation_filters):
        return False
    return all(any(f.holds(ctx) for ctx in _segment_contexts(doc)) for f in query.segment_filters)


def _sort_key(doc: Mapping[str, Any], order_by: str) -> tuple[int, str]:
    if order_by in ("conversationStart", "conversationEnd"):
        value = doc.get(order_by)
    else:
        key = order_by
        times = [seg[key] for _, seg in _segments(doc) if seg.get(key)]
        value = (min(times) if key == "segmentStart" else max(times)) if times else None
    return (0, value) if value is not None else (1, "")  # ISO UTC text sorts in time order


def _segments(doc: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any]]]:
    for participant in doc.get("participants", []):
        for session in participant.get("sessions", []):
            for segment in session.get("segments", []):
                yield session, segment


def run_query(store: ConversationStore, query: DetailQuery) -> dict[str, Any]:
    """The ``AnalyticsConversationQueryResponse`` for ``query``."""
    first, last = query.days
    docs = [c.to_json() for c in store.started_between(first, last)]
    hits = [doc for doc in docs if _matches(doc, query)]
    hits.sort(
        key=lambda doc: (_sort_key(doc, query.order_by), doc["conversationId"]), reverse=query.descending
    )
    start = (query.page_number - 1) * query.page_size
    page = hits[start : start + query.page_size]
    body: dict[str, Any] = {"totalHits": len(hits)}
    if page:
        body["conversations"] = page
    return body


def conversation_details(store: ConversationStore, conversation_id: str) -> dict[str, Any]:
    """``GET /api/v2/analytics/conversations/{id}/details``."""
    conversation = store.get(conversation_id)
    if conversation is None:
        raise not_found("conversation", conversation_id)
    return conversation.to_json()


def multi_get(store: ConversationStore, ids: list[str]) -> dict[str, Any]:
    """``GET /api/v2/analytics/conversations/details?id=a,b``: the ones that exist, in the order asked."""
    if not ids:
        raise bad_request("id is required: one or more conversation ids", field="id")
    if len(ids) > MAX_PAGE_SIZE:
        raise ApiError(400, "bad.request", f"at most {MAX_PAGE_SIZE} ids per request")
    found: list[Conversation] = [c for c in (store.get(i) for i in dict.fromkeys(ids)) if c is not None]
    return {"conversations": [c.to_json() for c in found]}
