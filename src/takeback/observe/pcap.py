"""Writing a SIP trace as a classic libpcap file that Wireshark/tshark dissect as SIP.

Format: the libpcap file format (pcap-savefile; IETF draft-ietf-opsawg-pcap): a 24-byte file header, then
per frame a 16-byte record header and the frame. Timestamps are nanoseconds (magic ``0xA1B23C4D``) by
default, microseconds (``0xA1B2C3D4``) on request. Link types: Ethernet (``LINKTYPE_ETHERNET`` = 1,
default, what most tools expect) or raw IP (``LINKTYPE_RAW`` = 101).

:class:`PcapWriter` streams: each message is written and flushed as it is recorded, so a crash loses
nothing already written (``fsync=True`` also survives a power cut, at a cost per message). Subscribe it
to a :class:`~takeback.observe.trace.SipTrace` (``trace.subscribe(writer)``). :func:`write_pcap` exports
a whole trace at once.

TLS entries hold the decrypted SIP (the trace is taken above TLS); they are written as plaintext TCP on
their real ports. Wireshark's heuristic SIP dissector finds SIP on any TCP/UDP port, but port 5061 is
claimed by TLS, so read such captures with ``-d tcp.port==5061,sip``.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from .frames import (
    IP_PROTO_TCP,
    IP_PROTO_UDP,
    IpAddress,
    TcpFlows,
    endpoint_ips,
    ethernet_frame,
    ip_packets,
    tcp_header,
    udp_datagram,
)
from .trace import MirrorFilter, TraceEntry

__all__ = [
    "LINKTYPE_ETHERNET",
    "LINKTYPE_RAW",
    "PcapWriter",
    "pcap_bytes",
    "write_pcap",
]

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
_MAGIC_MICRO = 0xA1B2C3D4
_MAGIC_NANO = 0xA1B23C4D
_DEFAULT_SNAPLEN = 262144  # what tcpdump and Wireshark use; larger than any frame we build


class PcapWriter:
    """Turns trace entries into frames and appends them to a pcap file, flushing after every message.

    ``target`` is a path (created or truncated) or a binary file object (left open on :meth:`close`
    unless ``close_target``). ``mtu`` sizes IP fragments of large UDP messages and, less the IP and TCP
    headers, the TCP MSS (``mss`` overrides it). ``dedupe`` drops the receiver's copy of a message both
    ends recorded (see :class:`~takeback.observe.trace.MirrorFilter`). ``tcp_handshake`` and ``tcp_acks``
    make TCP streams look like real connections.
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | BinaryIO,
        *,
        linktype: int = LINKTYPE_ETHERNET,
        nanosecond: bool = True,
        mtu: int = 1500,
        mss: int | None = None,
        tcp_handshake: bool = True,
        tcp_acks: bool = True,
        dedupe: bool = True,
        snaplen: int = _DEFAULT_SNAPLEN,
        fsync: bool = False,
    ) -> None:
        if linktype not in (LINKTYPE_ETHERNET, LINKTYPE_RAW):
            raise ValueError("linktype must be LINKTYPE_ETHERNET (1) or LINKTYPE_RAW (101)")
        if mtu < 576:
            raise ValueError("mtu must be at least 576 (RFC 791 §3.1)")
        self.linktype = linktype
        self.nanosecond = nanosecond
        self.mtu = mtu
        self.mss = mss
        self.snaplen = snaplen
        self.fsync = fsync
        self.frames_written = 0
        self.messages_written = 0
        self.mirrors_skipped = 0
        self._mirrors = MirrorFilter() if dedupe else None
        self._flows = TcpFlows(handshake=tcp_handshake, acks=tcp_acks)
        self._ident = 0
        if isinstance(target, (str, os.PathLike)):
            self._file: BinaryIO = open(target, "wb")  # noqa: SIM115 - owned until close()
            self._owns_file = True
        else:
            self._file = target
            self._owns_file = False
        self.closed = False
        magic = _MAGIC_NANO if nanosecond else _MAGIC_MICRO
        self._file.write(struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
        self._flush()

    # ------------------------------------------------------------------------------------------ API

    def write(self, entry: TraceEntry) -> int:
        """Append the frames of one message and flush; returns how many frames were written (0 when
        it was the mirror copy of a message already written). Raises ``ValueError`` for a UDP message
        too large for any datagram."""
        if self.closed:
            raise ValueError("write to a closed PcapWriter")
        if self._mirrors is not None and self._mirrors.is_mirror(entry):
            self.mirrors_skipped += 1
            return 0
        frames = self.frames(entry)
        seconds, fraction = self._split_time(entry.timestamp)
        records = []
        for frame in frames:
            captured = frame[: self.snaplen]
            records.append(struct.pack("<IIII", seconds, fraction, len(captured), len(frame)))
            records.append(captured)
        self._file.write(b"".join(records))
        self._flush()
        self.frames_written += len(frames)
        self.messages_written += 1
        return len(frames)

    __call__ = write  # so the writer itself can be a trace subscriber

    def write_all(self, entries: Iterable[TraceEntry]) -> int:
        """Write many entries (flushing once per message); returns the number of frames written."""
        return sum(self.write(entry) for entry in entries)

    def frames(self, entry: TraceEntry) -> list[bytes]:
        """The link-layer frames of one message (advances TCP sequence numbers and IP ids)."""
        src_ip, dst_ip = endpoint_ips(entry.src[0], entry.dst[0])
        sport, dport = entry.src[1], entry.dst[1]
        if entry.transport == "UDP":
            datagram = udp_datagram(src_ip, dst_ip, sport, dport, entry.data)
            packets = ip_packets(
                src_ip,
                dst_ip,
                IP_PROTO_UDP,
                datagram,
                ident=self._next_ident(),
                mtu=self.mtu,
                dont_fragment=False,
            )
            return [self._link(src_ip, dst_ip, packet) for packet in packets]
        mss = self.mss or self.mtu - (40 if src_ip.version == 4 else 60)
        segments = self._flows.segments((str(src_ip), sport), (str(dst_ip), dport), entry.data, mss)
        frames = []
        for segment in segments:
            a, b, port_a, port_b = (
                (src_ip, dst_ip, sport, dport) if segment.forward else (dst_ip, src_ip, dport, sport)
            )
            transport = tcp_header(a, b, port_a, port_b, segment)
            (packet,) = ip_packets(
                a, b, IP_PROTO_TCP, transport, ident=self._next_ident(), mtu=self.mtu, dont_fragment=True
            )
            frames.append(self._link(a, b, packet))
        return frames

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._flush()
        if self._owns_file:
            self._file.close()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------ internals

    def _link(self, src: IpAddress, dst: IpAddress, packet: bytes) -> bytes:
        return ethernet_frame(src, dst, packet) if self.linktype == LINKTYPE_ETHERNET else packet

    def _next_ident(self) -> int:
        self._ident = (self._ident + 1) & 0xFFFFFFFF
        return self._ident

    def _split_time(self, timestamp: float) -> tuple[int, int]:
        """Seconds and the sub-second part in the file's unit (ns or µs), never negative."""
        units = 1_000_000_000 if self.nanosecond else 1_000_000
        if timestamp <= 0:
            return 0, 0
        seconds = math.floor(timestamp)
        fraction = round((timestamp - seconds) * units)  # exact subtraction: no precision lost to the seconds
        if fraction >= units:
            seconds, fraction = seconds + 1, fraction - units
        return seconds & 0xFFFFFFFF, fraction

    def _flush(self) -> None:
        self._file.flush()
        if self.fsync:
            with contextlib.suppress(OSError, io.UnsupportedOperation):
                os.fsync(self._file.fileno())


def write_pcap(path: str | os.PathLike[str], entries: Iterable[TraceEntry], **options: object) -> int:
    """Export entries (a :class:`~takeback.observe.trace.SipTrace` or a list) as one pcap file; returns
    the number of frames. ``options`` are those of :class:`PcapWriter`."""
    with PcapWriter(Path(path), **options) as writer:  # type: ignore[arg-type]
        return writer.write_all(entries)


def pcap_bytes(entries: Iterable[TraceEntry], **options: object) -> bytes:
    """The pcap file for ``entries`` as bytes (an HTTP download, a test)."""
    buffer = io.BytesIO()
    writer = PcapWriter(buffer, **options)  # type: ignore[arg-type]
    writer.write_all(entries)
    writer.close()
    return buffer.getvalue()
