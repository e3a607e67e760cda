"""Seeing what happened: SIP trace capture, pcap and HEP export, ladder diagrams.

* :class:`SipTrace` — the bounded in-memory recorder the transport layer calls (``trace.record(...)``);
  :class:`Capture` wires it to a streaming :class:`PcapWriter` and a :class:`HepSender` from a
  :class:`CaptureConfig`.
* :func:`write_pcap` / :func:`pcap_bytes` — a whole trace as a pcap Wireshark dissects as SIP.
* :func:`encode_hep3` / :func:`parse_hep3` — HEPv3 for Homer.
* :func:`build_ladder` → :class:`Ladder`, drawn by :func:`render_text` / :func:`print_ladder` (terminal)
  and :func:`render_svg` / :func:`render_html` / :func:`write_html` (self-contained files).
"""

from .annotate import Note, annotate
from .capture import Capture, CaptureConfig
from .hep import HepError, HepPacket, HepSender, encode_hep3, parse_hep3, parse_hep_address
from .ladder import Arrow, Ladder, Party, build_ladder, display_text
from .ladder_html import render_html, render_svg, write_html, write_svg
from .ladder_text import print_ladder, render_rich, render_text
from .pcap import LINKTYPE_ETHERNET, LINKTYPE_RAW, PcapWriter, pcap_bytes, write_pcap
from .trace import (
    DEFAULT_MAX_ENTRIES,
    Address,
    MirrorFilter,
    PartyRecorder,
    SipTrace,
    TraceEntry,
    extract_call_id,
    merge_entries,
)

__all__ = [
    "DEFAULT_MAX_ENTRIES",
    "LINKTYPE_ETHERNET",
    "LINKTYPE_RAW",
    "Address",
    "Arrow",
    "Capture",
    "CaptureConfig",
    "HepError",
    "HepPacket",
    "HepSender",
    "Ladder",
    "MirrorFilter",
    "Note",
    "Party",
    "PartyRecorder",
    "PcapWriter",
    "SipTrace",
    "TraceEntry",
    "annotate",
    "build_ladder",
    "display_text",
    "encode_hep3",
    "extract_call_id",
    "merge_entries",
    "parse_hep3",
    "parse_hep_address",
    "pcap_bytes",
    "print_ladder",
    "render_html",
    "render_rich",
    "render_svg",
    "render_text",
    "write_html",
    "write_pcap",
    "write_svg",
]
