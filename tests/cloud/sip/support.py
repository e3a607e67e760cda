"""Helpers for the emulator's SIP tests: the article's org on ephemeral ports, and a small device.

:class:`Device` is a minimal external SIP device written on :class:`takeback.net.UserAgent` (not
``takeback.device``): it answers (optionally after a Digest challenge, or rejects), gets real RTP from the
emulator, collects the caller's DTMF, then takes the call back with a REFER whose Refer-To the test
chooses — so each spelling and UUI variant can be sent exactly.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from takeback.cloud import Org, parse_org
from takeback.media import MediaScheduler, MediaSession, PortAllocator
from takeback.media.params import params_from_negotiated
from takeback.net import Call, Peer, ReferOutcome, UserAgent
from takeback.sdp import LocalMedia, negotiate, parse_sdp
from takeback.sip import Request, Response
from takeback.sip.authparams import Credentials
from takeback.sip.digest import DigestServer

CALLER = "+13175551234"
MAIN_DID = "+18005550100"
BACK_DID = "+33456456456"
SIPP_BACK_DID = "+13175550199"
ARTICLE_UUI = "This is my data"
# The article's Refer-To, RFC spelling (GENESYS.md §10 (4)).
ARTICLE_REFER_TO = (
    "<sip:+33456456456@localhost?User-to-User=0054686973206973206d792064617461%3Bencoding%3Dhex>"
)

FAST = {"bye_policy": {"wait_for_device_bye_s": 0.2}}


def device_trunk(port: int, **settings: Any) -> dict[str, Any]:
    """The article's trunk (step 5) pointing at 127.0.0.1:``port``."""
    trunk: dict[str, Any] = {
        "name": "Device",
        "inbound_site": "Daly City",
        "inbound_sip_termination_identifier": "myexternaldevicetrunk",
        "sip_servers": [f"127.0.0.1:{port}"],
        "address_override_method": "Unassigned DID",
        "caller_id": "+19999990000",
        "preferred_codec_list": ["audio/pcmu", "audio/pcma"],
        "take_back_and_transfer": True,
        "custom_sip_headers": {"CUSTOM-DEVICE-TOKEN": "1234567"},
        "conversation_headers": True,
        "uui_passthrough": True,
        "max_dial_timeout": "5s",
    }
    trunk.update(settings)
    return trunk


def org_data(
    port: int,
    *,
    trunk: dict[str, Any] | None = None,
    policies: dict[str, Any] | None = None,
    pstn_servers: tuple[str, ...] = ("127.0.0.1:9",),
    **top: Any,
) -> dict[str, Any]:
    """The article's org: Main IVR sets UUI and transfers to 9991; +33456456456 / +13175550199 -> Back."""
    data: dict[str, Any] = {
        "default_site": "Daly City",
        "policies": {**FAST, **(policies or {})},
        "pstn": {"trunk": "PSTN", "default_caller": CALLER},
        "trunks": [
            {
                "name": "PSTN",
                "inbound_site": "Daly City",
                "inbound_sip_termination_identifier": "pstn",
                "sip_servers": list(pstn_servers),
            },
            trunk if trunk is not None else device_trunk(port),
        ],
        "sites": [
            {
                "name": "Daly City",
                "number_plans": [
                    {
                        "name": "E164",
                        "match_type": "e164NumberList",
                        "numbers": "+19999990001",
                        "classification": "E164ToExternalDevice",
                    },
                    {
                        "name": "Short",
                        "match_type": "numberList",
                        "numbers": "9991,9992",
                        "classification": "ShortNumberToExternalDevice",
                    },
                ],
                "outbound_routes": [
                    {
                        "name": "ToDevice",
                        "external_trunks": ["Device"],
                        "classifications": ["E164ToExternalDevice", "ShortNumberToExternalDevice"],
                    },
                    {
                        "name": "PSTN",
                        "external_trunks": ["PSTN"],
                        "classifications": ["National", "International", "Emergency"],
                    },
                ],
            }
        ],
        "did_ranges": [
            {"start": MAIN_DID, "flow": "Main IVR"},
            {"start": BACK_DID, "flow": "Back"},
            {"start": SIPP_BACK_DID, "flow": "Back"},
        ],
        "flows": [
            {
                "name": "Main IVR",
                "actions": [
                    {"set_uui": ARTICLE_UUI},
                    {"transfer_to_number": "9991"},
                    {"play": "Sorry, the transfer failed."},
                    "disconnect",
                ],
            },
            {
                "name": "Back",
                "actions": [
                    {"set_participant_data": {"takeback_uui": "{Call.UUIData}"}},
                    {"play": "Welcome back. Your data is: {Call.UUIData}"},
                    "disconnect",
                ],
            },
        ],
    }
    data.update(copy.deepcopy(top))
    return data


def make_org(port: int, **kwargs: Any) -> Org:
    return parse_org(org_data(port, **kwargs))


class CapturingUserAgent(UserAgent):
    """A UserAgent that keeps every message it receives (to look at NOTIFY/ACK headers)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: list[Request | Response] = []

    def message_received(self, message: Request | Response, peer: Peer) -> None:
        self.received.append(message)
        super().message_received(message, peer)

    def requests(self, method: str) -> list[Request]:
        return [m for m in self.received if isinstance(m, Request) and m.method == method]


@dataclass
class Device:
    """A small device (module doc). ``refer_to`` may be a function of the INVITE."""

    refer_to: str | list[str] | Callable[[Request], str] | None = ARTICLE_REFER_TO
    refer_headers: tuple[tuple[str, str], ...] = ()
    refer_all: bool = False  # REFER every target even after a success
    reject: int | None = None
    ring_only: bool = False  # 180, then never answer (Max Dial Timeout -> CANCEL)
    before_refer: Callable[[Call], None] | None = None
    after_answer: Callable[[Call, MediaSession], Awaitable[None]] | None = None
    silent: bool = False  # answer with SDP but send no RTP
    calls: list[Call] = field(default_factory=list)
    challenge: tuple[str, str, str] | None = None  # (realm, user, password)
    device_bye: bool = False
    collect_digits: int = 0
    listen: str = "udp:127.0.0.1:0"
    invites: list[Request] = field(default_factory=list)
    outcomes: list[ReferOutcome] = field(default_factory=list)
    digits: list[str] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)
    packets_received: list[int] = field(default_factory=list)
    done: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    async def start(self) -> Device:
        self.ua = CapturingUserAgent([self.listen])
        self.ua.on_call = self._on_call
        await self.ua.start()
        self.scheduler = MediaScheduler()
        self.ports = PortAllocator("127.0.0.1", 20000, 29999, dscp=None)
        self.digest = DigestServer(self.challenge[0], b"k" * 32, 60.0) if self.challenge else None
        return self

    async def close(self) -> None:
        await self.ua.close()
        self.scheduler.close()

    async def __aenter__(self) -> Device:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def port(self) -> int:
        return self.ua.endpoints[0].port

    def _authorized(self, call: Call) -> bool:
        if self.digest is None or self.challenge is None:
            return True
        value = call.invite.headers.get("Authorization")
        if value is None:
            challenge = self.digest.challenge(time.time())
            call.respond(401, headers=[("WWW-Authenticate", str(challenge))])
            return False
        credentials = Credentials.parse(value)
        result = self.digest.verify("INVITE", credentials, self.challenge[2], time.time())
        if not result.ok or credentials.username != self.challenge[1]:
            call.respond(403)
            return False
        return True

    async def _on_call(self, call: Call) -> None:
        self.invites.append(call.invite)
        if self.reject is not None:
            call.respond(self.reject)
            return
        if self.ring_only:
            call.respond(180)
            self.ended.append(await asyncio.wait_for(call.wait_terminated(), 30))
            await self.done.put(call.termination_reason or "")
            return
        if not self._authorized(call):
            return
        session = await MediaSession.open(self.scheduler, self.ports, inactivity_timeout=None)
        try:
            await self._talk(call, session)
        finally:
            self.packets_received.append(session.stats.packets_received)
            session.close()
            await self.done.put(call.termination_reason or "")

    async def _talk(self, call: Call, session: MediaSession) -> None:
        local = LocalMedia("127.0.0.1", session.local_port)
        answer = negotiate(parse_sdp(call.invite.body), local)
        session.update(params_from_negotiated(answer.media))
        if not self.silent:
            session.start()
        self.calls.append(call)
        await call.answer(body=bytes(answer.sdp), wait_ack=True)
        if self.after_answer is not None:
            await self.after_answer(call, session)
        if self.collect_digits:
            result = await session.collect(self.collect_digits, 5.0, 3.0, terminator="")
            self.digits.append(result.digits)
        if self.before_refer is not None:
            self.before_refer(call)
        for target in self._targets(call.invite):
            outcome = await call.refer(target, timeout=10, headers=self.refer_headers)
            self.outcomes.append(outcome)
            if outcome.success and not self.refer_all:
                if self.device_bye:
                    with contextlib.suppress(Exception):
                        await call.bye()
                break
        self.ended.append(await asyncio.wait_for(call.wait_terminated(), 10))

    def _targets(self, invite: Request) -> list[str]:
        """REFER these in turn until one succeeds (RFC 3515 §2.4.6: several REFERs on one dialog)."""
        if self.refer_to is None:
            return []
        if callable(self.refer_to):
            return [self.refer_to(invite)]
        return [self.refer_to] if isinstance(self.refer_to, str) else list(self.refer_to)


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (bounded) until ``predicate()`` holds."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)
