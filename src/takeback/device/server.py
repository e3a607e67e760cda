"""The device server: listeners, access policy, calls, apps, records, health, draining.

What happens to a request (GENESYS.md §4.3, §10, §12):

* Every **request** from a source outside ``access.ip_acl`` is dropped before the SIP core sees it
  (``acl_action: drop``: no 100 Trying, no transaction, nothing learnt by a scanner) or answered 403.
* An initial **INVITE** goes through :class:`~takeback.device.access.AccessPolicy` (token, Digest, DNIS,
  UUI token). Refused: the response, one records row, a rate-limited log line. Accepted: a
  :class:`~takeback.device.call.Call` handed to the app (the built-in flow or ``module:function``).
* Out-of-dialog **OPTIONS**: 200 with Allow/Accept/Supported while healthy, 503 + Retry-After while draining
  (GENESYS.md §12 item 17: a dispatcher must take a draining node out of its pool).
* **SIGTERM** (:meth:`DeviceServer.drain`): new INVITEs get 503, running calls finish within
  ``drain_timeout`` and are hung up after it, then the process exits.

Re-INVITE hold/unhold (mirrored direction, RFC 3264 §8.4) and session timers (422 / refresh, RFC 4028) are
handled per call (:mod:`takeback.device.call`) and by the SIP core.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

from takeback.media import EspeakTts, MediaScheduler, PortAllocator, PromptLibrary
from takeback.net import Call as NetCall
from takeback.net import IncomingRequest, Peer, parse_listen_spec
from takeback.net.tls import TlsConfig
from takeback.observe import SipTrace
from takeback.sip import Request
from takeback.uui import decode_uui

from .access import AccessPolicy, Decision, LogOnce, Verdict, dnis_of
from .call import ALLOW, Call, CallServices, user_of, uui_header_lines, uui_header_text
from .config import DeviceConfig
from .edge import DeviceUserAgent
from .errors import CallEnded
from .flow import run_flow
from .http import StatusHttpServer
from .metrics import DeviceMetrics, MetricsSnapshot
from .overload import OverloadGuard, watch_backlog
from .preflight import load_app, preflight
from .records import CallRecords, read_recent
from .status_page import StatusPages
from .validation import ConfigError, Problem
from .workers import WorkerSlot

__all__ = ["App", "DeviceServer", "DeviceUserAgent"]

logger = logging.getLogger("takeback.device")

TRACE_ENTRIES = 5000  #: default bound of the in-memory SIP trace behind the status page's ladders

App = Callable[[Call], Awaitable[Any]]
_FINAL_OUTCOME = {
    "remote-bye": "peer-hangup",
    "local-bye": "hangup",
    "cancelled": "cancelled",
    "no-ack": "no-ack",
    "rejected": "hangup",
}


def _listen_text(endpoint: Any) -> str:
    """``udp:127.0.0.1:5080`` / ``tcp:[::1]:5080``: the ``--listen`` spelling, not the dataclass repr."""
    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    return f"{endpoint.transport.lower()}:{host}:{endpoint.port}"


async def _no_app(call: Call) -> None:  # until start() resolves the configured app
    await call.hangup()


class DeviceServer:
    """One device process. ``await start()``, then ``await wait_closed()``; ``drain()`` for SIGTERM.

    ``app`` overrides ``config.app`` (a coroutine function taking a :class:`Call`); ``cwd`` is where the
    default records file goes; ``listen``/``http`` override the configured listeners (CLI ``--listen``,
    ``--http``); ``digest_key`` fixes the nonce key (tests, several processes). ``trace`` records every SIP
    message of the device (party ``device``) for the status page's ladders; default: a new bounded one.
    """

    def __init__(
        self,
        config: DeviceConfig,
        *,
        app: App | None = None,
        cwd: Path | None = None,
        listen: list[str] | None = None,
        http: tuple[str, int] | bool | None = True,
        digest_key: bytes | None = None,
        trace: SipTrace | None = None,
        worker: WorkerSlot | None = None,
    ) -> None:
        self.config = config
        #: One of several processes sharing the listening ports (``takeback.device.workers``), or None.
        self.worker = worker
        self.trace = trace if trace is not None else SipTrace(TRACE_ENTRIES)
        self.call_metrics = DeviceMetrics()
        self.listen = [str(parse_listen_spec(spec)) for spec in listen] if listen else list(config.listen)
        self.media_address = config.media_address_for([parse_listen_spec(spec) for spec in self.listen])
        self.http_address = config.http if http is True else (None if http is False else http)
        self.records_path = config.records_path(cwd)
        self.policy = AccessPolicy(config.access, digest_key=digest_key)
        self._app = app
        self._run_app: App = _no_app
        self.calls: set[Call] = set()
        self.draining = False
        self.started_at = 0.0
        self.stats: dict[str, int] = {}
        self.refused: dict[str, int] = {}
        self._log_once = LogOnce(config.access.log_interval)
        self._closed = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        shed = config.overload
        self.overload = OverloadGuard(shed.shed_above_kb * 1024, shed.resume_below_kb * 1024, shed.hold)
        self.ua: DeviceUserAgent | None = None
        self.records: CallRecords | None = None
        self.http: StatusHttpServer | None = None
        self.services: CallServices | None = None

    # -- lifecycle --------------------------------------------------------------------------------------

    async def start(self) -> DeviceServer:
        """Check everything, then open records, media, SIP and HTTP; nothing is left half-started."""
        problems = preflight(self.config)
        if self.media_address is None:
            problems.append(
                Problem("media.address", "is required when every listener binds a wildcard address")
            )
        if problems:
            raise ConfigError(problems)
        app = self._resolve_app()
        try:
            self.records = CallRecords(self.records_path, synchronous=self.config.records.synchronous).start()
        except Exception as exc:
            raise ConfigError([Problem("records.path", str(exc))]) from None
        try:
            await self._start_runtime(app)
        except BaseException:
            await self.close()
            raise
        self.started_at = time.time()
        logger.info("device listening on %s", ", ".join(str(e) for e in self.endpoints))
        return self

    def _resolve_app(self) -> App:
        if self._app is not None:
            return self._app
        if self.config.app.module is not None:
            function = load_app(self.config.app.module)
            return function
        steps = self.config.app.flow or []
        # run_flow itself is the app (no wrapper coroutine: each layer is resumed at every await of a call)
        return partial(run_flow, steps=steps, default_number=self.config.take_back.number)

    async def _start_runtime(self, app: App) -> None:
        config = self.config
        media = config.media
        address = self.media_address
        assert address is not None  # checked in start()
        scheduler = MediaScheduler()
        low, high = media.port_range if self.worker is None else self.worker.port_slice(*media.port_range)
        ports = PortAllocator(address, low, high, dscp=None)
        prompts = PromptLibrary(EspeakTts(config.tts_cache_dir(), voice=media.voice))
        self.services = CallServices(config, self.records, scheduler, ports, prompts, address, self.stats)
        self._run_app = app
        tls = None
        if config.tls is not None:
            tls = TlsConfig(
                certfile=config.tls.certfile, keyfile=config.tls.keyfile, cafile=config.tls.cafile
            )
        timer = config.session_timer
        core_options: dict[str, Any] = {
            "user_agent": config.user_agent,
            "contact_user": "device",
            "allow": ALLOW,
            "supported": ("timer",) if timer.enabled else (),
            "min_se": timer.min_se if timer.enabled else 0,
            "refer_timeout": config.take_back.timeout + 1.0,
        }
        self.ua = DeviceUserAgent(
            self.listen,
            tls=tls,
            core_options=core_options,
            policy=self.policy,
            on_drop=self._on_drop,
            overload=self.overload,
            retry_after=config.overload.retry_after,
            trace=self.trace.for_party("device"),
            reuse_port=self.worker is not None,
        )
        self.ua.on_call = self._on_call
        self.ua.on_request = self._on_request
        await self.ua.start()
        self._start_shedding()
        if self.http_address is not None:
            assert self.records is not None  # opened in start()
            pages = StatusPages(
                self.records,
                self.trace,
                live=lambda: {call.call_id for call in self.calls},
                status=self.status,
            )
            self.http = StatusHttpServer(
                *self.http_address,
                healthy=lambda: not self.draining,
                status=self.status,
                metrics=self.metrics,
                calls=self._recent_calls,
                page=pages.index,
                call_page=pages.call,
            )
            await self.http.start()

    def _start_shedding(self) -> None:
        """Sample the SIP sockets' receive queue for the load-shedding guard (:mod:`.overload`)."""
        if not self.overload.enabled or self.ua is None:
            return
        backlog = self.ua.transport.receive_backlog
        task = asyncio.ensure_future(watch_backlog(self.overload, backlog, self.config.overload.interval))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def endpoints(self) -> list[Any]:
        return self.ua.endpoints if self.ua is not None else []

    async def drain(self, timeout: float | None = None) -> None:
        """Stop taking calls (INVITE and OPTIONS get 503), let running calls end, then close."""
        if self.draining:
            return
        self.draining = True
        limit = self.config.drain_timeout if timeout is None else timeout
        logger.info("draining: %d call(s) running, waiting up to %.0f s", len(self.calls), limit)
        deadline = time.monotonic() + limit
        while self.calls and time.monotonic() < deadline:
            await asyncio.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
        for call in list(self.calls):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(call.hangup(), 5.0)
        await self.close()

    async def close(self) -> None:
        """Close HTTP, SIP and media, then commit and close the records (running calls are abandoned,
        recorded with end reason ``shutdown``; :meth:`drain` is the graceful way)."""
        for call in list(self.calls):
            call.abandon("shutdown")
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=2.0)
        if self.http is not None:
            await self.http.close()
        if self.ua is not None:
            await self.ua.close()
        if self.services is not None:
            self.services.scheduler.close()
        if self.records is not None:
            await asyncio.to_thread(self.records.close)
        self._closed.set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    # -- requests ---------------------------------------------------------------------------------------

    def _on_drop(self, peer: Peer, reason: str) -> None:
        """A request refused at the edge (:mod:`.edge`): dropped outside the ACL, or shed with 503."""
        self._count_refusal(reason)
        source = f"{peer.host}:{peer.port}"
        if reason == "overload":
            message = f"INVITE from {source} answered 503 (shedding load)"
        else:
            message = f"request from {source} dropped (outside ip_acl)"
        self._log_refusal(peer.host, reason, message)

    def _on_request(self, incoming: IncomingRequest) -> None:
        """Out-of-dialog requests: OPTIONS health (§12 item 17), 403 outside the ACL, else the defaults."""
        if incoming.call is not None:
            return
        refused = self.policy.check_source(incoming.peer.host)
        if refused is not None and refused.status is not None:
            self._count_refusal(refused.reason)
            incoming.respond(refused.status, refused.reason_phrase)
            return
        if incoming.method != "OPTIONS":
            return
        if self.draining:
            incoming.respond(503, "Service Unavailable", headers=[("Retry-After", "30")])
            return
        headers = [("Allow", ALLOW), ("Accept", "application/sdp"), ("Supported", "timer")]
        incoming.respond(200, headers=headers)

    def _on_call(self, net_call: NetCall) -> None:
        """Admission runs synchronously: a refused or challenged INVITE (half of a Digest call's INVITEs)
        costs no task; an accepted call gets one for its app."""
        call = self._admit(net_call)
        if call is None:
            return
        task = asyncio.get_running_loop().create_task(self._serve_call(call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _admit(self, net_call: NetCall) -> Call | None:
        invite = net_call.invite
        peer = net_call.peer
        assert peer is not None and self.services is not None
        now = time.time()
        self._count("invites")
        fields = self._invite_fields(invite, peer, now)
        from_tag = invite.from_.tag or ""
        reason = self._capacity_refusal()
        if reason is not None:
            net_call.respond(503, "Service Unavailable", headers=[("Retry-After", "5")])
            self._begin(invite.call_id, from_tag, **fields, access=reason, invite_status=503,
                        outcome="refused", end_at=now)  # fmt: skip
            self._count_refusal(reason)
            self.call_metrics.call_refused("refused")
            return None
        decision = self.policy.check(invite, peer.host, now, dnis=fields["dnis"])
        if decision.verdict is not Verdict.ACCEPT:
            self._refuse(net_call, decision, fields, now)
            return None
        call = Call(net_call, self.services, invite_fields=fields)
        row = call.row
        row.update(fields, auth=decision.auth, access="ok", outcome="accepted")
        if self.records is not None:
            self.records.begin_row(invite.call_id, from_tag, row)
        self.calls.add(call)
        self._count("calls_accepted")
        call.watch()
        return call

    async def _serve_call(self, call: Call) -> None:
        """Run the app, hang up what it left up, then finish the call (one coroutine: each layer would be
        resumed at every await of the call)."""
        try:
            try:
                await self._run_app(call)
            except CallEnded:
                pass
            except Exception:
                logger.exception("app failed on call %s", call.call_id)
                call.outcome = "app-error"
                self._count("app_errors")
            if not call.ended and not call.taken_back:
                with contextlib.suppress(Exception):
                    await call.hangup()
        finally:
            try:
                await self._finish(call)
            finally:
                self.calls.discard(call)  # only once its record is committed

    async def _finish(self, call: Call) -> None:
        if not call.ended:
            await call.wait_ended(10.0)
        outcome = call.outcome
        if outcome in ("accepted", "answered"):
            outcome = _FINAL_OUTCOME.get(call.end_reason or "", "ended")
        self._count("outcome_" + outcome)
        row = call.row
        written = row.get("outcome") == outcome  # a taken-back call wrote its final outcome itself
        row["outcome"] = outcome
        records = self.records
        if records is not None:
            if not written:
                records.update_row(call.call_id, call.from_tag, {"outcome": outcome})
            with contextlib.suppress(Exception):
                await records.barrier()  # a completed call is on disk before it leaves
        self.call_metrics.call_ended(outcome, row)  # latencies and the REFER result come from the row

    def _capacity_refusal(self) -> str | None:
        """Why a new call cannot be taken now (503), or None: draining, ``max_calls``. (Load shedding
        answers before the SIP core, statelessly: :mod:`.edge`.)"""
        if self.draining:
            return "draining"
        if self.config.max_calls and len(self.calls) >= self.config.max_calls:
            return "max-calls"
        return None

    def _refuse(self, net_call: NetCall, decision: Decision, fields: dict[str, Any], now: float) -> None:
        invite = net_call.invite
        if decision.verdict is Verdict.RESPOND and decision.status is not None:
            net_call.respond(decision.status, decision.reason_phrase, headers=decision.headers)
        challenged = decision.status in (401, 407)
        self._begin(
            invite.call_id, invite.from_.tag or "", **fields, auth=decision.auth, access=decision.reason,
            invite_status=decision.status, outcome="challenged" if challenged else "refused",
            detail=decision.detail, end_at=None if challenged else now,
        )  # fmt: skip
        self._count_refusal(decision.reason)
        self.call_metrics.call_refused("challenged" if challenged else "refused")
        if not challenged:
            peer = net_call.peer
            host = peer.host if peer is not None else "?"
            self._log_refusal(
                host, decision.reason, f"INVITE from {host} refused {decision.status}: {decision.detail}"
            )

    def _invite_fields(self, invite: Request, peer: Peer, now: float) -> dict[str, Any]:
        cnv = invite.headers.get("x-inin-cnv")
        uui_lines = uui_header_lines(invite)
        return {
            "conversation_id": cnv.strip() if cnv else None,
            "caller": user_of(invite.from_.uri),
            "dnis": dnis_of(invite),
            "source_ip": peer.host,
            "source_port": peer.port,
            "transport": peer.transport,
            "uui_in_raw": uui_header_text(invite, uui_lines),
            "uui_in": decode_uui(uui_lines).text,  # the same as decoding all the headers: it reads these
            "invite_at": now,
        }

    def _begin(self, call_id: str, from_tag: str, **fields: Any) -> None:
        if self.records is not None:
            self.records.begin(call_id, from_tag, **fields)

    # -- bookkeeping ------------------------------------------------------------------------------------

    def _count(self, name: str) -> None:
        self.stats[name] = self.stats.get(name, 0) + 1

    def _count_refusal(self, reason: str) -> None:
        self.refused[reason] = self.refused.get(reason, 0) + 1

    def _log_refusal(self, source: str, reason: str, message: str) -> None:
        suppressed = self._log_once.check((source, reason), time.monotonic())
        if suppressed is not None:
            extra = f" (and {suppressed} more since the last report)" if suppressed else ""
            logger.warning("%s%s", message, extra)

    def status(self) -> dict[str, Any]:
        ua = self.ua
        return {
            "state": "draining" if self.draining else "running",
            "pid": os.getpid(),
            "started_at": self.started_at,
            "listen": [_listen_text(e) for e in self.endpoints],
            "calls_active": len(self.calls),
            "stats": dict(self.stats),
            "refused": dict(self.refused),
            "records": {
                "path": str(self.records_path),
                "written": self.records.written if self.records else 0,
                "failed": self.records.failed if self.records else 0,
            },
            "sip": ua.counters.snapshot() if ua is not None else {},
            "overload": asdict(self.overload.state),
        }

    def metrics(self) -> str:
        """Prometheus text (:mod:`.metrics`): calls by outcome, auth rejections by reason, REFER outcomes,
        latency histograms, active calls, plus the event, SIP and records counters."""
        records = self.records
        return self.call_metrics.render(
            MetricsSnapshot(
                calls_active=len(self.calls),
                draining=self.draining,
                events=self.stats,
                refused=self.refused,
                sip=self.ua.counters.snapshot() if self.ua is not None else {},
                records_written=records.written if records else 0,
                records_failed=records.failed if records else 0,
                trace_evicted=self.trace.evicted,
            )
        )

    async def _recent_calls(self, n: int) -> list[dict[str, Any]]:
        return await asyncio.to_thread(read_recent, self.records_path, n)
