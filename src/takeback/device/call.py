"""``takeback.device.Call``: what an app holds for one accepted call (DESIGN.md §3, a fixed contract).

Attributes: ``conversation_id`` (``x-inin-cnv``, GENESYS.md §4.2; None when Conversation Headers is off),
``uui`` (what Genesys would expose as ``Call.UUIData`` for the INVITE's UUI, §5.2), ``caller`` (From user: the
ANI with "Unassigned DID"), ``dnis`` (Request-URI user), ``invite`` (the request).

Verbs: ``await answer()``, ``await play(path_or_text)``, ``await collect(max_digits, timeout, terminator)``,
``await record(path, max_seconds)``, ``await take_back(number, uui=None) -> TransferResult``,
``await hangup()``. Once the call is over (the peer hung up, it was taken back, we hung up) every verb but
``hangup`` raises :class:`~takeback.device.errors.CallEnded`.

The call is built on a :class:`takeback.net.Call` (the INVITE dialog), a :class:`takeback.media.MediaSession`
(RTP) and :func:`takeback.sdp.negotiate` (offer/answer, also for hold/unhold re-INVITEs, RFC 3264 §8.4).
Each state change is written to the call records as it happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from takeback.media import MediaScheduler, MediaSession, PortAllocator, PromptLibrary
from takeback.media import RtpTimeout as MediaRtpTimeout
from takeback.media.errors import MediaError, SessionClosed
from takeback.media.params import params_from_negotiated
from takeback.media.playback import PlayResult
from takeback.media.recorder import RecordingResult
from takeback.net import Call as NetCall
from takeback.net import IncomingRequest, RequestFailed
from takeback.sdp import (
    TELEPHONE_EVENT,
    LocalMedia,
    NegotiatedMedia,
    NegotiationError,
    SdpError,
    VersionKeeper,
    build_offer,
    negotiate,
    parse_sdp,
    process_answer,
    session_id_from_time,
)
from takeback.sip import Request, SipUri, TransactionError
from takeback.sip.session_timer import supports_timer
from takeback.uui import UUI_HEADER, X_UUI_HEADER, decode_uui, refer_to

from .access import dnis_of
from .config import DeviceConfig
from .errors import CallEnded, CallStateError
from .records import CallRecords
from .refer_auth import refer_with_auth
from .request_auth import bye_with_auth
from .srtp_policy import srtp_media_options

__all__ = ["Call", "CallServices", "TransferResult"]

logger = logging.getLogger("takeback.device")


@dataclass(frozen=True, slots=True)
class TransferResult:
    """How a take-back ended (GENESYS.md §6, §12 items 6-8).

    ``success``: the terminal NOTIFY carried a 2xx sipfrag. ``status``: that sipfrag status, or the REFER's
    own final status when it was refused (403, 481, 603 …), or None when no terminal NOTIFY came within
    ``take_back.timeout``. ``accepted``: the REFER got a 2xx (202) — not the outcome. ``refer_to``: the
    Refer-To value sent. ``bye``: who ended the dialog after a success (``peer`` within the grace, or
    ``device``), None when it did not end.
    """

    success: bool
    status: int | None
    reason: str
    refer_to: str
    accepted: bool = False
    bye: str | None = None


@dataclass(slots=True)
class CallServices:
    """What calls share, owned by the server: configuration, records, media scheduler/ports/prompts."""

    config: DeviceConfig
    records: CallRecords | None
    scheduler: MediaScheduler
    ports: PortAllocator
    prompts: PromptLibrary
    media_address: str
    stats: dict[str, int] = field(default_factory=dict)
    #: Our media capabilities from the configuration, built once; each call takes a copy on its own port.
    local_media_template: LocalMedia | None = None

    def count(self, name: str) -> None:
        self.stats[name] = self.stats.get(name, 0) + 1


def user_of(uri: object) -> str | None:
    """The user part of a SIP URI (the caller's number in From), None otherwise."""
    return uri.user if isinstance(uri, SipUri) else None


_UUI, _X_UUI = UUI_HEADER.lower(), X_UUI_HEADER.lower()
_UUI_NAMES = (_UUI, _X_UUI)
_name_of = itemgetter(0)


def uui_header_lines(invite: Request) -> list[tuple[str, str]]:
    """The INVITE's UUI header lines in order, ``(name as written, value)``: what :func:`decode_uui` reads
    (it ignores every other line) and what :func:`uui_header_text` shows, collected once per INVITE."""
    headers = invite.headers
    if UUI_HEADER not in headers and X_UUI_HEADER not in headers:  # an index lookup, no list of lines
        return []
    lines = headers.items_as_written()
    # Every line's lower-cased name in C loops, no Python step per header line: the usual INVITE has
    # one UUI line, found by list.index.
    names = list(map(str.lower, map(_name_of, lines)))
    uui, x_uui = names.count(_UUI), names.count(_X_UUI)
    if uui + x_uui == 1:
        return [lines[names.index(_UUI if uui else _X_UUI)]]
    return [line for line, name in zip(lines, names, strict=True) if name in _UUI_NAMES]


def uui_header_text(invite: Request, lines: list[tuple[str, str]] | None = None) -> str | None:
    """The UUI header(s) as received, ``Name: value`` per line, the name spelt as the peer spelt it (a
    case rewrite of the header name is a known Genesys interop failure, GENESYS.md §5.2: keep the
    evidence). ``lines``: :func:`uui_header_lines` of the INVITE, when the caller has them already."""
    if lines is None:
        lines = uui_header_lines(invite)
    if len(lines) == 1:  # the usual INVITE
        name, value = lines[0]
        return f"{name}: {value}"
    return "\n".join([f"{name}: {value}" for name, value in lines]) or None


ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, UPDATE, INFO"


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():  # a waiter whose task was cancelled is done already
        waiter.set_result(None)


class Call:
    """One accepted call (see the module docstring)."""

    def __init__(
        self,
        net_call: NetCall,
        services: CallServices,
        *,
        invite_fields: Mapping[str, Any] | None = None,
    ) -> None:
        """``invite_fields``: the server's first record fields of this INVITE (``conversation_id``,
        ``caller``, ``dnis``, ``uui_in``), read instead of deriving them from the INVITE again."""
        invite = net_call.invite
        self.invite: Request = invite
        self.net_call = net_call
        self.services = services
        self.call_id = invite.call_id
        self.from_tag = invite.from_.tag or ""
        self.conversation_id: str | None
        if invite_fields is not None:
            self.conversation_id = invite_fields["conversation_id"] or None  # stripped already
            self.uui: str | None = invite_fields["uui_in"]
            self.caller: str | None = invite_fields["caller"]
            self.dnis: str | None = invite_fields["dnis"]
        else:
            cnv = invite.headers.get("x-inin-cnv")
            self.conversation_id = cnv.strip() if cnv and cnv.strip() else None
            self.uui = decode_uui(invite.headers).text
            self.caller = user_of(invite.from_.uri)
            self.dnis = dnis_of(invite)
        self.variables: dict[str, str] = {
            "conversation_id": self.conversation_id or "",
            "call_id": self.call_id,
            "caller": self.caller or "",
            "dnis": self.dnis or "",
            "uui": self.uui or "",
            "take_back_status": "",
        }
        self.media: MediaSession | None = None
        self.negotiated: NegotiatedMedia | None = None
        self.answered = False
        self.taken_back = False
        self.outcome = "accepted"
        self._local: LocalMedia | None = None
        self._keeper = VersionKeeper(session_id_from_time(time.time()))
        self._end_waiters: list[asyncio.Future[None]] = []  # wait_ended() callers, woken by _finish
        self.end_reason: str | None = None
        self._watching = False
        self._hangup_task: asyncio.Future[None] | None = None
        #: What this call wrote to its record row so far (the server's first fields included): metrics and
        #: the status page read it here instead of reading SQLite back on the event loop's critical path.
        self.row: dict[str, Any] = {}
        net_call.on_request = self._in_dialog_request

    def __repr__(self) -> str:
        return f"<device.Call {self.call_id} {self.outcome}>"

    # -- state -----------------------------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        return self.end_reason is not None

    def watch(self) -> None:
        """Start following the dialog: when it ends, media stops and waiting verbs raise CallEnded.
        (A callback from the dialog's end, not a task per call awaiting it.)"""
        if not self._watching:
            self._watching = True
            self.net_call.add_end_callback(self._finish)

    def abandon(self, reason: str) -> None:
        """Forget the call without signalling (the process is stopping): media closed, end recorded."""
        self._finish(reason)

    def _finish(self, reason: str) -> None:
        if self.end_reason is not None:
            return
        self.end_reason = reason
        if self._watching and self.net_call.termination_reason is None:
            self.net_call.remove_end_callback(self._finish)  # rejected before a dialog, or abandoned
        if self.media is not None:
            self.media.close()
        self._record(end_at=time.time(), end_reason=reason)
        waiters, self._end_waiters = self._end_waiters, []
        for waiter in waiters:
            _wake(waiter)

    async def wait_ended(self, timeout: float | None = None) -> str | None:
        """The end reason once the call is over (None if ``timeout`` passed first)."""
        if self.end_reason is not None:  # over already (the usual case when the server finishes a call)
            return self.end_reason
        # One future woken by _finish or by a timer: every take-back waits here for the peer's BYE, and
        # this costs less than an Event plus an asyncio.timeout context.
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._end_waiters.append(waiter)
        timer = None if timeout is None else loop.call_later(timeout, _wake, waiter)
        try:
            await waiter
        finally:
            if timer is not None:
                timer.cancel()
            if self.end_reason is None:  # timed out or cancelled: forget the waiter
                with contextlib.suppress(ValueError):
                    self._end_waiters.remove(waiter)
        return self.end_reason

    def _check_live(self) -> None:
        if self.end_reason is not None:
            raise CallEnded(self.end_reason)

    def _record(self, **fields: Any) -> None:
        self.row.update(fields)
        records = self.services.records
        if records is not None:
            records.update_row(self.call_id, self.from_tag, fields)

    @contextlib.contextmanager
    def _media_op(self) -> Iterator[MediaSession]:
        """Run a media verb: requires an answered call; a call ending meanwhile becomes CallEnded."""
        self._check_live()
        if not self.answered or self.media is None:
            raise CallStateError("answer() the call first")
        try:
            yield self.media
        except (SessionClosed, MediaError):
            if self.end_reason is not None:
                raise CallEnded(self.end_reason) from None
            raise

    # -- answer ----------------------------------------------------------------------------------------

    def local_media(self, port: int) -> LocalMedia:
        services = self.services
        template = services.local_media_template
        if template is None:
            media = services.config.media
            event = (
                TELEPHONE_EVENT.with_payload_type(media.telephone_event_payload)
                if media.telephone_event
                else None
            )
            template = LocalMedia(
                services.media_address, port, codecs=media.sdp_codecs, telephone_event=event,
                ptime=media.ptime, **srtp_media_options(media.srtp),
            )  # fmt: skip
            services.local_media_template = template
        return template.with_port(port)

    async def answer(self) -> None:
        """Negotiate the offer (RFC 3264), start RTP, send 200 OK and wait for the ACK.

        No common codec: 488 and :class:`CallEnded` (RFC 3264 §6, RFC 3261 §13.3.1.3 "488 Not Acceptable
        Here"). An INVITE without an offer is answered with ours, the peer's answer coming in the ACK.
        """
        self._check_live()
        if self.answered:
            return
        config = self.services.config
        timeout = config.media.rtp_timeout or None
        try:
            self.media = await MediaSession.open(
                self.services.scheduler, self.services.ports, prompts=self.services.prompts,
                inactivity_timeout=timeout, send_silence=config.media.send_silence,
            )  # fmt: skip
        except MediaError as exc:
            await self._refuse(503, "Service Unavailable", f"no media port: {exc}")
            raise CallEnded("no-media-port") from None
        self._local = self.local_media(self.media.local_port)
        try:
            body = self._negotiate_initial()
        except (SdpError, NegotiationError) as exc:
            status = getattr(exc, "status", 488)
            await self._refuse(status, "Not Acceptable Here", f"SDP: {exc}")
            raise CallEnded(f"sdp-{status}") from None
        self._check_live()  # a CANCEL may have arrived while the media port was opening
        self.media.add_listener(self._media_event)
        headers = self._answer_headers()
        self.net_call.respond(200, headers=headers, body=body, content_type="application/sdp")
        self.answered = True
        self.outcome = "answered"
        codec = self.negotiated.codec.name if self.negotiated else None
        self._record(answer_at=time.time(), invite_status=200, codec=codec, outcome="answered")
        try:
            await self.net_call.wait_ack()
        except Exception:
            self._check_live()
            raise CallEnded("no-ack") from None
        if self.negotiated is None and self.net_call.ack_body:  # late offer: the ACK carries the answer
            self._apply_offer_answer(self.net_call.ack_body)
        self._check_live()

    def _negotiate_initial(self) -> bytes:
        assert self.media is not None and self._local is not None
        if not self.invite.body:
            offer = build_offer(self._local, keeper=self._keeper)
            return offer.to_bytes()
        answer = negotiate(parse_sdp(self.invite.body), self._local, keeper=self._keeper)
        self.negotiated = answer.media
        self.media.update(params_from_negotiated(answer.media))
        self.media.start()
        return bytes(answer)

    def _apply_offer_answer(self, body: bytes) -> None:
        assert self.media is not None and self._keeper.last is not None
        with contextlib.suppress(SdpError, NegotiationError):
            self.negotiated = process_answer(self._keeper.last, parse_sdp(body))
            self.media.update(params_from_negotiated(self.negotiated))
            self.media.start()

    def _answer_headers(self) -> list[tuple[str, str]]:
        """Allow/Supported, and Session-Expires when the UAC supports timers without asking (RFC 4028 §9)."""
        timer = self.services.config.session_timer
        if not timer.enabled:
            return [("Allow", ALLOW)]
        headers = [("Allow", ALLOW), ("Supported", "timer")]
        if "Session-Expires" not in self.invite.headers and supports_timer(self.invite):
            headers.append(("Session-Expires", f"{timer.session_expires};refresher={timer.refresher}"))
            headers.append(("Require", "timer"))
        return headers

    async def _refuse(self, status: int, phrase: str, detail: str) -> None:
        logger.info("call %s refused %d: %s", self.call_id, status, detail)
        if self.net_call.server_tx is not None:
            self.net_call.respond(status, phrase)
        self.outcome = "refused"
        self._record(invite_status=status, outcome="refused", detail=detail)
        if self.media is not None:
            self.media.close()

    def _media_event(self, event: object) -> None:
        if isinstance(event, MediaRtpTimeout) and not self.ended:
            logger.info("call %s: no RTP, hanging up", self.call_id)
            self.outcome = "rtp-timeout"
            self._hangup_task = asyncio.ensure_future(self.hangup())

    # -- in-dialog requests: re-INVITE / UPDATE (hold, unhold, refresh) ------------------------------------

    def _in_dialog_request(self, incoming: IncomingRequest) -> None:
        if incoming.method not in ("INVITE", "UPDATE") or not incoming.request.body:
            return  # the runtime's defaults: 200 with our last SDP for a refresh, 200 for INFO/OPTIONS …
        if self.media is None or self._local is None:
            incoming.respond(500, "No Media Yet", headers=[("Retry-After", "1")])
            return
        try:
            answer = negotiate(
                parse_sdp(incoming.request.body), self._local, current=self.negotiated, keeper=self._keeper
            )
        except (SdpError, NegotiationError) as exc:
            status = getattr(exc, "status", 488)
            incoming.respond(status, "Not Acceptable Here")
            logger.info("call %s: re-INVITE refused %d: %s", self.call_id, status, exc)
            return
        self.negotiated = answer.media
        self.media.update(params_from_negotiated(answer.media))
        body = bytes(answer)
        self.net_call.local_body = body
        incoming.respond(200, body=body, content_type="application/sdp")

    # -- media verbs -----------------------------------------------------------------------------------

    async def play(self, path_or_text: str | Path, *, barge_in: bool = False) -> PlayResult:
        """Play a WAV file (a Path, or a str ending in .wav that exists) or speak text (espeak-ng).

        ``barge_in``: a DTMF key stops the prompt; the key stays typed-ahead for :meth:`collect`.
        """
        with self._media_op() as media:
            return await media.play(path_or_text, barge_in=barge_in)

    async def collect(
        self,
        max_digits: int = 4,
        timeout: float = 5.0,
        terminator: str = "#",
        *,
        inter_digit_timeout: float | None = None,
    ) -> str:
        """DTMF digits (RFC 4733): stops at ``max_digits``, the terminator, or ``timeout`` without a key."""
        with self._media_op() as media:
            result = await media.collect(
                max_digits,
                first_digit_timeout=timeout,
                inter_digit_timeout=timeout if inter_digit_timeout is None else inter_digit_timeout,
                terminator=terminator,
            )
        if result.reason == "closed":
            self._check_live()
        return result.digits

    async def record(self, path: str | Path, max_seconds: float) -> RecordingResult:
        """Record the caller (stereo WAV) for at most ``max_seconds``."""
        target = Path(path).expanduser()
        target.parent.mkdir(parents=True, exist_ok=True)
        with self._media_op() as media:
            return await media.record(target, max_seconds)

    # -- take back ---------------------------------------------------------------------------------------

    async def take_back(self, number: str, uui: str | None = None) -> TransferResult:
        """REFER the call back to Genesys (GENESYS.md §6, §12).

        In the INVITE dialog (R-URI = the peer's Contact verbatim, Route from Record-Route: the SIP core
        does both, §4.2); ``Refer-To`` from :func:`takeback.uui.refer_to` (RFC-correct escaping, §12.1).
        The outcome is the terminal NOTIFY's sipfrag, not the 202 (§12 item 6), waited for at most
        ``take_back.timeout``; a REFER refused outright (4xx/481/603) is a failure and the call stays up.
        On success the call belongs to Genesys again: we wait ``take_back.bye_grace`` for its BYE, then
        send ours (RFC 5589 §6.1; both patterns are legal, §12 item 8).
        """
        self._check_live()
        if not self.answered:
            raise CallStateError("answer() the call before taking it back (REFER needs a confirmed dialog)")
        settings = self.services.config.take_back
        value = refer_to(number, uui=uui, host=settings.host, pd=settings.pd)
        self._record(refer_at=time.time(), refer_to=value, uui_out=uui, take_back_number=number)
        self.services.count("take_back_attempts")
        try:
            attempt = await refer_with_auth(
                self.net_call, value, timeout=settings.timeout, credentials=settings.credentials
            )  # a 401/407 to the REFER is answered once (§12 item 12, .refer_auth)
            outcome = attempt.outcome
        except RequestFailed as exc:  # the REFER transaction itself failed (timeout / transport)
            return self._take_back_failed(value, exc.status, exc.reason, accepted=False)
        except TransactionError:  # the peer hung up between our check and the REFER (BYE race)
            return self._take_back_failed(value, 481, "dialog ended before the REFER", accepted=False)
        if not outcome.success:
            return self._take_back_failed(value, outcome.status, outcome.reason, accepted=outcome.accepted)
        self.taken_back = True
        self.outcome = "taken-back"
        self.services.count("take_back_success")
        self._record(refer_status=202 if outcome.accepted else None, notify_status=outcome.status,
                     notify_final_at=time.time(), outcome="taken-back")  # fmt: skip
        if self.media is not None:
            self.media.stop_playback()
        bye = await self._bye_after_success(settings.bye_grace)
        return TransferResult(True, outcome.status, outcome.reason, value, outcome.accepted, bye)

    def _take_back_failed(
        self, value: str, status: int | None, reason: str, *, accepted: bool
    ) -> TransferResult:
        self.services.count("take_back_failed")
        fields: dict[str, Any] = {"outcome": "take-back-failed", "detail": f"take back: {status} {reason}"}
        if accepted:
            fields.update(refer_status=202, notify_status=status, notify_final_at=time.time())
        else:
            fields.update(refer_status=status)
        self._record(**fields)
        self.outcome = "take-back-failed"
        self.variables["take_back_status"] = "" if status is None else str(status)
        logger.info("call %s: take back to %s failed: %s %s", self.call_id, value, status, reason)
        return TransferResult(False, status, reason, value, accepted)

    async def _bye_after_success(self, grace: float) -> str | None:
        if await self.wait_ended(grace) is not None:
            return "peer" if self.end_reason == "remote-bye" else None
        await self._send_bye()
        return "device"

    # -- hanging up --------------------------------------------------------------------------------------

    async def hangup(self) -> None:
        """End the call: BYE when answered, 480 when not answered yet. Idempotent."""
        if self.ended:
            return
        if not self.answered:
            if self.net_call.server_tx is not None:
                self.net_call.respond(480, "Temporarily Unavailable")
                self._record(invite_status=480)
            self._finish("rejected")
            return
        await self._send_bye()

    async def _send_bye(self) -> None:
        try:
            credentials = self.services.config.take_back.credentials  # a 401/407 is answered once
            response = await bye_with_auth(self.net_call, credentials)
        except RequestFailed as exc:
            self._record(bye_status=exc.status)
        else:
            if response is not None:
                self._record(bye_status=response.status)
        await self.wait_ended(5.0)
        if not self.ended:
            self._finish("local-bye")
