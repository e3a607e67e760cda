"""Wiring a trace to its sinks from configuration: the streaming pcap file and the HEP collector.

The demo turns capture on with a pcap next to its report; ``device.yaml``/``org.yaml`` or the CLI can
set the same fields. One :class:`Capture` owns the :class:`~takeback.observe.trace.SipTrace` that the
runtime records into and closes the sinks it opened::

    with Capture(CaptureConfig(pcap_path="out/demo.pcap")) as capture:
        device_recorder = capture.trace.for_party("device")   # handed to the transport layer
        ...
    ladder = build_ladder(capture.trace, names)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .hep import HepSender, parse_hep_address
from .pcap import PcapWriter
from .trace import DEFAULT_MAX_ENTRIES, SipTrace

__all__ = ["Capture", "CaptureConfig"]


@dataclass(frozen=True, slots=True)
class CaptureConfig:
    """What to capture and where to. ``hep_address`` is ``(host, port)`` or ``"host:port"``."""

    enabled: bool = True
    max_entries: int = DEFAULT_MAX_ENTRIES
    pcap_path: str | os.PathLike[str] | None = None
    pcap_nanosecond: bool = True
    hep_address: tuple[str, int] | str | None = None
    hep_capture_id: int = 2001
    hep_auth_key: str | None = None
    hep_node_name: str | None = None

    def __post_init__(self) -> None:
        if self.max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        if isinstance(self.hep_address, str):
            parse_hep_address(self.hep_address)  # fail at configuration time, not at the first message


class Capture:
    """A :class:`SipTrace` plus the sinks its configuration asks for; a context manager."""

    def __init__(self, config: CaptureConfig | None = None, *, trace: SipTrace | None = None) -> None:
        self.config = config or CaptureConfig()
        self.trace = trace or SipTrace(self.config.max_entries, enabled=self.config.enabled)
        self.pcap: PcapWriter | None = None
        self.hep: HepSender | None = None
        self._unsubscribe = []
        try:
            if self.config.pcap_path is not None:
                path = Path(self.config.pcap_path)
                path.parent.mkdir(parents=True, exist_ok=True)
                self.pcap = PcapWriter(path, nanosecond=self.config.pcap_nanosecond)
                self._unsubscribe.append(self.trace.subscribe(self.pcap))
            if self.config.hep_address is not None:
                self.hep = HepSender(
                    self.config.hep_address,
                    capture_id=self.config.hep_capture_id,
                    auth_key=self.config.hep_auth_key,
                    node_name=self.config.hep_node_name,
                )
                self._unsubscribe.append(self.trace.subscribe(self.hep))
        except BaseException:
            self.close()
            raise

    @property
    def pcap_path(self) -> Path | None:
        return Path(self.config.pcap_path) if self.config.pcap_path is not None else None

    def close(self) -> None:
        """Stop feeding the sinks and close them; the trace itself stays readable."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        if self.pcap is not None:
            self.pcap.close()
        if self.hep is not None:
            self.hep.close()

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
