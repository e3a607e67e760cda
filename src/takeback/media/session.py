"""One call's media: an RTP socket, the paced transmitter, the receiver, and the application verbs.

The device creates a session when it needs a port for its SDP (``await MediaSession.open(...)``), configures
it from the negotiated values (:class:`MediaParams`), starts it on answer, updates it on every re-INVITE
(hold/unhold/new address) and closes it on BYE::

    session = await MediaSession.open(scheduler, ports, prompts=library)
    session.update(MediaParams(codec="PCMU", payload_type=0, remote=("192.0.2.10", 40000)))
    session.start()
    await session.play("welcome.wav", barge_in=True)
    result = await session.collect(max_digits=4, first_digit_timeout=5, inter_digit_timeout=3)
    session.close()
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from takeback.media.codecs import Codec, codec_for
from takeback.media.collector import CollectResult, collect_digits
from takeback.media.dtmf import DigitBuffer
from takeback.media.errors import MediaError, SessionClosed
from takeback.media.events import DtmfReceived, MediaEvent, MediaResumed, RemoteLatched, RtpTimeout
from takeback.media.params import MediaParams
from takeback.media.playback import Playback, PlayResult
from takeback.media.ports import PortAllocator, PortLease
from takeback.media.prompts import Prompt, PromptLibrary
from takeback.media.receive import AudioTap, RtpReceiver
from takeback.media.recorder import Recorder, RecordingResult
from takeback.media.rtcp import RtcpChannel
from takeback.media.scheduler import MediaScheduler
from takeback.media.socket import RtpSocket, sendable_address
from takeback.media.srtp import SrtpEngine, SrtpTransforms, open_transforms
from takeback.media.transmit import RtpTransmitter
from takeback.rtp.dtmf import DTMF_DIGITS, DigitDetected

__all__ = ["ANY_DIGIT", "MediaSession", "MediaStats"]

_log = logging.getLogger(__name__)
ANY_DIGIT = DTMF_DIGITS
"""Pass as ``barge_in`` to let any key interrupt a prompt."""
E = TypeVar("E")
Listener = Callable[[MediaEvent], None]


@dataclass(frozen=True, slots=True)
class MediaStats:
    packets_sent: int
    octets_sent: int
    packets_received: int
    packets_lost: int
    packets_rejected: int
    send_failures: int
    remote: tuple[Any, ...] | None
    srtp_auth_failures: int = 0
    """SRTP/SRTCP packets dropped because their tag did not verify (wrong key, corrupted, forged)."""
    srtp_replays: int = 0
    """SRTP/SRTCP packets dropped as replayed or too old (RFC 3711 §3.3.2)."""


class MediaSession:
    """The media of one call. Create with :meth:`open`; every method must run on the scheduler's loop.

    Options:

    * ``inactivity_timeout``: seconds without RTP before :class:`RtpTimeout` (None = never); suspended while
      we do not expect media (hold, recvonly peer, 0.0.0.0);
    * ``relatch_after`` / ``relatch_quiet``: packets, and seconds of silence from the old source, needed to
      move the symmetric-RTP latch (see :mod:`takeback.media.receive`);
    * ``source_filter``: predicate on the source IP, e.g. membership of Genesys' media CIDRs;
    * ``send_silence``: keep sending silence between prompts, which keeps NAT bindings and the peer's own
      RTP timeout happy;
    * ``rtcp_interval``: mean seconds between RTCP reports when the port allocator binds RTCP;
    * ``srtp_engine``: ``"auto"`` (libsrtp when installed), ``"libsrtp"`` or ``"takeback"``, for streams
      whose :class:`MediaParams` carry SDES keys (:mod:`takeback.media.srtp`).
    """

    def __init__(
        self,
        scheduler: MediaScheduler,
        lease: PortLease,
        *,
        prompts: PromptLibrary | None = None,
        inactivity_timeout: float | None = 30.0,
        relatch_after: int = 3,
        relatch_quiet: float = 0.06,
        source_filter: Callable[[str], bool] | None = None,
        send_silence: bool = True,
        rtcp_interval: float = 5.0,
        srtp_engine: SrtpEngine = "auto",
    ) -> None:
        self.scheduler = scheduler
        self.srtp_engine: SrtpEngine = srtp_engine
        self.srtp: SrtpTransforms | None = None
        """The SRTP transforms in use (``srtp.engine`` names the implementation), ``None`` for plain RTP."""
        self.prompts = prompts if prompts is not None else PromptLibrary()
        self.inactivity_timeout = inactivity_timeout
        self._lease = lease
        self._socket = RtpSocket(lease.rtp)
        self._tx = RtpTransmitter(self._socket, scheduler, self._housekeeping, send_silence=send_silence)
        self._rx = RtpReceiver(
            scheduler.clock,
            self._on_latch,
            self._on_digit,
            relatch_after=relatch_after,
            relatch_quiet=relatch_quiet,
            source_filter=source_filter,
        )
        self._rtcp = (
            None
            if lease.rtcp is None
            else RtcpChannel(RtpSocket(lease.rtcp), self._tx, self._rx, self._emit, interval=rtcp_interval)
        )
        self.digits = DigitBuffer()
        self.params: MediaParams | None = None
        self.codec: Codec | None = None
        self._listeners: list[Listener] = []
        self._last_seen_count = 0
        self._last_rx_time = scheduler.clock()
        self._timed_out = False
        self._closed = False
        self._closed_event: asyncio.Event | None = None  # made by the first wait_for(): most calls never wait

    @classmethod
    async def open(
        cls,
        scheduler: MediaScheduler,
        ports: PortAllocator,
        params: MediaParams | None = None,
        **options: Any,
    ) -> MediaSession:
        """Bind a port from ``ports`` and start receiving; sending begins with :meth:`start`."""
        lease = ports.allocate()
        try:
            session = cls(scheduler, lease, **options)
        except BaseException:
            lease.release()
            raise
        try:
            session._socket.attach(session._rx.handle, scheduler)
            if session._rtcp is not None:
                await session._rtcp.start(scheduler)
            if params is not None:
                session.update(params)
        except BaseException:
            session.close()  # unregisters the readers, then releases the port
            raise
        return session

    # --- properties ---------------------------------------------------------------------------------------

    @property
    def local_address(self) -> tuple[str, int]:
        """(host, port) of the RTP socket, for our SDP."""
        return self._socket.local_address

    @property
    def local_port(self) -> int:
        return self._lease.port

    @property
    def ssrc(self) -> int:
        return self._tx.ssrc

    @property
    def remote(self) -> tuple[Any, ...] | None:
        """Where RTP goes now: the latched source, else the SDP address."""
        return self._tx.destination

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def started(self) -> bool:
        return self._tx.attached

    @property
    def stats(self) -> MediaStats:
        rtcp = self._rtcp
        return MediaStats(
            packets_sent=self._tx.packets_sent,
            octets_sent=self._tx.octets_sent,
            packets_received=self._rx.received,
            packets_lost=self._rx.lost,
            packets_rejected=self._rx.rejected,
            send_failures=self._tx.send_failures,
            remote=self._tx.destination,
            srtp_auth_failures=self._rx.srtp_auth_failures + (rtcp.srtcp_auth_failures if rtcp else 0),
            srtp_replays=self._rx.srtp_replays + (rtcp.srtcp_replays if rtcp else 0),
        )

    @property
    def transmitter(self) -> RtpTransmitter:
        """The send half (benchmarks read its counters and pacing log)."""
        return self._tx

    # --- lifecycle ----------------------------------------------------------------------------------------

    def update(self, params: MediaParams | None = None, **changes: Any) -> None:
        """Apply new negotiated values: a complete :class:`MediaParams`, or changes to the current ones.

        ``session.update(direction="sendonly")`` holds the peer, ``update(remote=("0.0.0.0", port))`` is
        the RFC 2543 hold, ``update(direction="sendrecv", remote=new)`` unholds (RFC 3264 §8.4).
        """
        self._check_open()
        if params is None:
            if self.params is None:
                params = MediaParams(**changes)
            else:
                fields = {name: getattr(self.params, name) for name in MediaParams.__slots__}
                params = MediaParams(**{**fields, **changes})
        elif changes:
            raise TypeError("pass either a MediaParams or keyword changes, not both")
        old = self.params
        stream_changed = old is None or _stream_changed(old, params)
        if stream_changed:  # validate everything before changing anything
            codec = codec_for(params.codec)
            tick_ms = self.scheduler.tick_ms
            if params.ptime % tick_ms:
                raise ValueError(
                    f"ptime {params.ptime} ms is not a multiple of the scheduler tick ({tick_ms} ms)"
                )
        remote = self._initial_destination(params)
        srtp_changed = old is None or old.srtp != params.srtp
        transforms = (
            open_transforms(params.srtp, self.srtp_engine)
            if srtp_changed and params.srtp is not None
            else None
        )
        self.params = params
        if srtp_changed:  # only new keys restart SRTP: its ROC and replay state must survive re-INVITEs
            self._apply_srtp(transforms)
        if stream_changed:
            self.codec = codec
            self._tx.configure(codec, params)
            self._rx.configure(codec, params)
        if old is None or old.remote != params.remote:
            self._rx.unlatch()
            self._tx.destination = remote
            if self._rtcp is not None:
                self._rtcp.set_remote(params)
        was_sending = self._tx.may_send
        self._tx.may_send = params.may_send and self._tx.destination is not None
        if self._tx.may_send and not was_sending:
            self._tx.mark_talkspurt()  # RFC 3551 §4.1: marker on the first packet after a pause (unhold)
        if old is None or old.expects_media != params.expects_media:
            self._reset_inactivity()

    def _apply_srtp(self, transforms: SrtpTransforms | None) -> None:
        """Switch both directions (and RTCP) to ``transforms``, or back to plain RTP for ``None``."""
        self.srtp = transforms
        if transforms is None:
            self._tx.protect = self._rx.unprotect = None
            self._socket.handler = self._rx.handle
            if self._rtcp is not None:
                self._rtcp.set_srtp(None, None)
            return
        self._tx.protect = transforms.protect
        self._rx.unprotect = transforms.unprotect
        self._socket.handler = self._rx.handle_srtp
        if self._rtcp is not None:
            self._rtcp.set_srtp(transforms.protect_rtcp, transforms.unprotect_rtcp)

    def _initial_destination(self, params: MediaParams) -> tuple[Any, ...] | None:
        if params.remote_is_null or params.remote is None:
            return None
        return sendable_address(self._socket.family, params.remote)

    def start(self) -> None:
        """Join the scheduler: from the next tick on, the session sends (silence until something plays)."""
        self._check_open()
        if self.params is None:
            raise MediaError("configure the session (update(MediaParams(...))) before starting it")
        if not self._tx.attached:
            self._tx.attached = True
            self.scheduler.add(self._tx)
            # update() configured the transmitter for these params and it has not sent since (it was not
            # attached), so only its clock needs anchoring at the next tick: a second configure() would
            # rebuild the same state.
            self._tx.anchor()
            self._reset_inactivity()

    def close(self) -> None:
        """Stop sending, fail pending operations with :class:`SessionClosed`, release the port. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._tx.may_send = False
        if self._tx.attached:
            self.scheduler.remove(self._tx)
            self._tx.attached = False
        self._tx.release_owner()
        self._rx.release_owner()
        self._tx.playback.stop_all("closed")
        if self._tx.dtmf is not None:
            self._tx.dtmf.cancel()
        self._finish_recording("closed")
        self.digits.close()
        if self._rtcp is not None:
            self._rtcp.close()
        self._socket.close()
        self._lease.release()
        self._listeners.clear()
        if self._closed_event is not None:
            self._closed_event.set()

    async def __aenter__(self) -> MediaSession:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise SessionClosed("the media session is closed")

    # --- playing ------------------------------------------------------------------------------------------

    async def play(
        self,
        source: Prompt | str | Path,
        *,
        barge_in: bool | str = False,
        loop: bool = False,
        voice: str | None = None,
    ) -> PlayResult:
        """Play a prompt, a WAV file or text (TTS); returns once the last frame was sent or it was stopped.

        ``barge_in``: True (any digit) or the digits that stop the prompt; the digit stays in the typeahead
        for :meth:`collect`. ``loop``: repeat until :meth:`stop_playback` (music on hold).
        Prompts queue: a second ``play`` starts when the first ends.
        """
        self._check_open()
        prompt = await self.prompts.resolve(source, voice)
        params, codec = self._negotiated()
        await prompt.prepare(codec, params.ptime)  # off the loop: Opus encoding takes milliseconds
        self._check_open()
        params, codec = self._negotiated()  # a re-INVITE may have changed them meanwhile
        digits = ANY_DIGIT if barge_in is True else (barge_in or "")
        playback = Playback(prompt, codec, params.ptime, barge_in=digits, loop=loop)
        if not playback.frames:
            return PlayResult("completed", 0)
        self._tx.playback.add(playback)
        try:
            return await playback.future
        except asyncio.CancelledError:
            if self._tx.playback.current is playback:
                self._tx.playback.advance()
            raise

    def stop_playback(self) -> int:
        """Stop the current prompt and everything queued; returns how many playbacks were stopped."""
        return self._tx.playback.stop_all("stopped")

    @property
    def playing(self) -> bool:
        return bool(self._tx.playback)

    def _negotiated(self) -> tuple[MediaParams, Codec]:
        if self.params is None or self.codec is None:
            raise MediaError("the session has no negotiated codec yet")
        return self.params, self.codec

    # --- DTMF ---------------------------------------------------------------------------------------------

    async def send_dtmf(self, digits: str, *, duration_ms: int = 100, pause_ms: int = 100) -> None:
        """Send RFC 4733 events in the audio stream (same SSRC and clock); returns when all were sent."""
        self._check_open()
        if self._tx.dtmf is None:
            raise MediaError("no telephone-event payload type was negotiated: cannot send RFC 4733 DTMF")
        if not self._tx.attached:
            raise MediaError("start() the session before sending DTMF")
        await self._tx.dtmf.enqueue(digits, duration_ms=duration_ms, pause_ms=pause_ms)

    async def collect(
        self,
        max_digits: int,
        first_digit_timeout: float | None = 5.0,
        inter_digit_timeout: float | None = 3.0,
        terminator: str = "#",
        *,
        flush: bool = False,
    ) -> CollectResult:
        """Collect digits (typeahead included unless ``flush``); see :mod:`takeback.media.collector`."""
        self._check_open()
        if flush:
            self.digits.clear()
        return await collect_digits(
            self.digits,
            max_digits=max_digits,
            first_digit_timeout=first_digit_timeout,
            inter_digit_timeout=inter_digit_timeout,
            terminator=terminator,
        )

    def _on_digit(self, detected: DigitDetected) -> None:
        self.digits.push(detected.digit)
        self._tx.playback.barge_in(detected.digit)
        recorder = self._tx.recorder
        if recorder is not None and detected.digit in recorder.stop_digits:
            self._finish_recording("digit")
        self._emit(DtmfReceived(detected.digit, detected.duration_ms, detected.ended))

    # --- recording ----------------------------------------------------------------------------------------

    def start_recording(
        self,
        path: str | Path,
        *,
        max_seconds: float | None = None,
        stereo: bool = True,
        stop_digits: str = "",
    ) -> Recorder:
        """Record both directions to ``path`` (8 kHz 16-bit; stereo = caller left, device right)."""
        self._check_open()
        if self._tx.recorder is not None:
            raise MediaError("this session is already recording")
        if not self._tx.attached:
            raise MediaError("start() the session before recording")
        recorder = Recorder(
            path,
            start_tick=self.scheduler.current_tick + 1,
            start_time=self.scheduler.next_tick_time(),
            samples_per_tick=8 * self.scheduler.tick_ms,
            stereo=stereo,
            max_seconds=max_seconds,
            stop_digits=stop_digits,
        )
        self._tx.recorder = self._rx.recorder = recorder
        return recorder

    def stop_recording(self) -> RecordingResult | None:
        """Finish the current recording (None if there was none)."""
        return self._finish_recording("stopped")

    async def record(
        self, path: str | Path, max_seconds: float, *, stereo: bool = True, stop_digits: str = ""
    ) -> RecordingResult:
        """Record until ``max_seconds``, a stop digit, :meth:`stop_recording` or close."""
        recorder = self.start_recording(path, max_seconds=max_seconds, stereo=stereo, stop_digits=stop_digits)
        try:
            return await asyncio.shield(recorder.future)
        except asyncio.CancelledError:
            self._finish_recording("stopped")
            raise

    def _finish_recording(self, reason: Any) -> RecordingResult | None:
        recorder = self._tx.recorder
        if recorder is None:
            return None
        self._tx.recorder = self._rx.recorder = None
        return recorder.close(self.scheduler.current_tick + 1, reason)

    # --- audio taps and events --------------------------------------------------------------------------

    def add_audio_tap(self, tap: AudioTap) -> Callable[[], None]:
        """Call ``tap(pcm)`` with every decoded frame received; returns a function that removes it."""
        self._rx.add_tap(tap)
        return lambda: self._rx.remove_tap(tap)

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` for every :mod:`takeback.media.events` event; returns a remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def wait_for(self, event_type: type[E], timeout: float | None = None) -> E:
        """The next event of ``event_type``; TimeoutError after ``timeout``, SessionClosed on close."""
        self._check_open()
        future: asyncio.Future[E] = asyncio.get_running_loop().create_future()

        def listener(event: MediaEvent) -> None:
            if isinstance(event, event_type) and not future.done():
                future.set_result(event)

        remove = self.add_listener(listener)
        if self._closed_event is None:
            self._closed_event = asyncio.Event()
        closed: asyncio.Future[Any] = asyncio.ensure_future(self._closed_event.wait())
        waiting: set[asyncio.Future[Any]] = {future, closed}
        try:
            done, _ = await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if future in done:
                return future.result()
            if closed in done:
                raise SessionClosed("media session closed while waiting for an event")
            raise TimeoutError(f"no {event_type.__name__} within {timeout} s")
        finally:
            remove()
            closed.cancel()

    def _emit(self, event: MediaEvent) -> None:
        for listener in tuple(self._listeners):
            try:
                listener(event)
            except Exception:
                _log.exception("media event listener %r failed on %r", listener, event)

    def _on_latch(self, address: Any, ssrc: int, previous: Any) -> None:
        before = self._tx.destination
        self._tx.destination = address
        if self.params is not None:
            self._tx.may_send = self.params.may_send
        self._emit(RemoteLatched(address, ssrc, previous if previous is not None else before))

    # --- housekeeping (scheduler, every ~200 ms) ---------------------------------------------------------

    def _housekeeping(self, now: float) -> None:
        self._check_inactivity(now)
        self._rx.poll_dtmf(now)
        recorder = self._tx.recorder
        if recorder is not None:
            tick = self.scheduler.current_tick
            if recorder.expired(tick):
                self._finish_recording("max_seconds")
            else:
                recorder.flush(tick)
        if self._rtcp is not None:
            self._rtcp.maybe_report(now)

    def _reset_inactivity(self) -> None:
        self._last_seen_count = self._rx.received
        self._last_rx_time = self.scheduler.clock()
        self._timed_out = False

    def _check_inactivity(self, now: float) -> None:
        if self._rx.received != self._last_seen_count:
            self._last_seen_count = self._rx.received
            self._last_rx_time = now
            if self._timed_out:
                self._timed_out = False
                self._emit(MediaResumed())
            return
        timeout = self.inactivity_timeout
        params = self.params
        if timeout is None or self._timed_out or params is None or not params.expects_media:
            return
        if now - self._last_rx_time >= timeout:
            self._timed_out = True
            self._emit(RtpTimeout(now - self._last_rx_time))


def _stream_changed(old: MediaParams, new: MediaParams) -> bool:
    return (
        old.codec,
        old.payload_type,
        old.clock_rate,
        old.ptime,
        old.dtmf_payload_type,
        old.remote_ssrc,
    ) != (
        new.codec,
        new.payload_type,
        new.clock_rate,
        new.ptime,
        new.dtmf_payload_type,
        new.remote_ssrc,
    )
