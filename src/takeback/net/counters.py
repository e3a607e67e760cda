"""Runtime counters: what the transports and the user agent saw, for logs, tests and Prometheus.

Plain integer attributes (slots, no locks: everything runs on one event loop thread). Every abnormal
case at the protocol boundary increments exactly one counter, so a test can assert that garbage was
seen and handled without reading logs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["Counters"]


@dataclass(slots=True)
class Counters:
    datagrams_in: int = 0
    datagrams_out: int = 0
    bad_datagrams: int = 0  #: UDP payloads that did not parse (answered when routable, else dropped)
    keepalives_in: int = 0  #: CRLF keep-alives (RFC 5626 §4.4.1) on either transport
    messages_in: int = 0  #: well-formed messages delivered to the SIP layer (all transports)
    messages_out: int = 0
    stream_messages_in: int = 0
    bad_stream_messages: int = 0  #: framed correctly but unparsable; the connection stays open
    stream_errors: int = 0  #: framing errors: the connection was closed
    connections_open: int = 0  #: gauge: TCP/TLS connections currently open (both directions)
    connections_accepted: int = 0
    connections_opened: int = 0  #: outgoing connections established
    connections_rejected: int = 0  #: over ``max_connections``
    connections_idle_closed: int = 0
    connect_failures: int = 0  #: outgoing connect (or TLS handshake) failures
    send_failures: int = 0  #: writes dropped: socket error, no route, or stuck write buffer
    error_responses: int = 0  #: 4xx/5xx sent for malformed requests (RFC 3261 §8.2.6)
    messages_discarded: int = 0  #: the core dropped a message (unparseable, stray response …)
    internal_errors: int = 0  #: exceptions caught at the protocol boundary (bugs, logged once each)
    timer_fires: int = 0

    def snapshot(self) -> dict[str, int]:
        """A copy as a dict (for JSON status pages and test diffs)."""
        return asdict(self)
