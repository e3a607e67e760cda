"""``/emulator/v1/calls``: place and follow simulated PSTN calls over REST (what ``takeback call`` uses).

Emulator-only endpoints (no Genesys counterpart), added to the REST application by
:class:`~takeback.cloud.server.CloudServer` next to the Platform API; like the rest of ``/emulator/v1``
they need no bearer token. Errors are the API's ``ErrorBody`` (:class:`takeback.cloud.api.ApiError`).

* ``POST /emulator/v1/calls`` ``{"to": "+18005550100", "from": "+13175551234", "uui": "…",
  "ivrDigits": "1", "dtmf": "1234"}`` -> 201 ``{"conversationId", "customerCallId", "selfUri"}``;
* ``GET /emulator/v1/calls/{conversationId}`` -> the call's timeline: legs with their Call-IDs, flows
  with ``Call.UUIData``, REFERs, ``ended``; plus ``ladder``, the SIP ladder of those legs as text
  (:mod:`takeback.observe`), when the emulator records a SIP trace (else ``null``);
* ``DELETE /emulator/v1/calls/{conversationId}`` -> the caller hangs up (204).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .api.errors import bad_request, not_found
from .calllog import describe
from .engine import CloudEngine
from .pstn import PstnCaller, place_pstn_call

if TYPE_CHECKING:
    from takeback.observe import SipTrace

__all__ = ["CALLS_PATH", "add_call_routes"]

CALLS_PATH = "/emulator/v1/calls"
_TEXT_FIELDS = {
    "to": "dnis",
    "from": "ani",
    "uui": "uui_data",
    "ivrDigits": "ivr_digits",
    "dtmf": "dtmf_to_device",
}


def _caller(body: Any) -> PstnCaller:
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    unknown = sorted(set(body) - set(_TEXT_FIELDS))
    if unknown:
        raise bad_request(f"unknown field(s): {', '.join(unknown)}")
    values: dict[str, str] = {}
    for name, field in _TEXT_FIELDS.items():
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise bad_request(f"{name} must be a string", field=name)
        values[field] = value
    dnis = values.pop("dnis", "")
    if not dnis:
        raise bad_request("'to' (the DID to call) is required", field="to")
    return PstnCaller(
        dnis,
        ani=values.get("ani"),
        uui_data=values.get("uui_data"),
        ivr_digits=values.get("ivr_digits", ""),
        dtmf_to_device=values.get("dtmf_to_device", ""),
    )


def ladder_text(trace: SipTrace, engine: CloudEngine, call_ids: list[str]) -> str | None:
    """The ladder of ``call_ids`` as plain text, the emulator's own column named ``genesys``."""
    from takeback.observe import build_ladder, render_text

    own = {(endpoint.host, endpoint.port): "genesys" for endpoint in engine.ua.endpoints}
    entries = trace.entries(call_ids)
    return render_text(build_ladder(entries, own, columns=("genesys",))) if entries else None


def add_call_routes(
    app: web.Application,
    engine: Callable[[], CloudEngine],
    trace: Callable[[], SipTrace | None] = lambda: None,
) -> None:
    """Add the three routes (module doc) to ``app`` before it starts; ``trace()`` gives the SIP trace."""

    async def create(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("the body is not JSON") from None
        record = await place_pstn_call(engine(), _caller(body))
        result = {
            "conversationId": record.conversation_id,
            "customerCallId": record.customer_call_id,
            "selfUri": f"{CALLS_PATH}/{record.conversation_id}",
        }
        return web.json_response(result, status=201)

    def record_of(request: web.Request) -> Any:
        conversation_id = request.match_info["conversation_id"]
        try:
            return engine().conversation(conversation_id)
        except KeyError:
            raise not_found("call", conversation_id) from None

    async def show(request: web.Request) -> web.Response:
        timeline = describe(record_of(request))
        recorded = trace()
        call_ids = [leg["call_id"] for leg in timeline["legs"] if leg["call_id"]]
        timeline["ladder"] = ladder_text(recorded, engine(), call_ids) if recorded is not None else None
        return web.json_response(timeline)

    async def hang_up(request: web.Request) -> web.Response:
        record = record_of(request)
        await engine().hangup(record.conversation_id)
        return web.Response(status=204)

    app.router.add_post(CALLS_PATH, create)
    app.router.add_get(CALLS_PATH + "/{conversation_id}", show)
    app.router.add_delete(CALLS_PATH + "/{conversation_id}", hang_up)
