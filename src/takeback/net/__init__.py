"""asyncio runtime: UDP/TCP/TLS transports and the :class:`UserAgent` that drives the sans-IO SIP core.

Layers (each usable alone): :mod:`.listen` (listen specs), :mod:`.transport` (sockets, connection table,
framing, bad-input handling), :mod:`.useragent` (the core adapter: one timer, output/event pumping) and
:mod:`.calls` (what applications hold: calls, incoming requests and REFERs). :mod:`.loop` picks uvloop.
"""

from .address import LocalEndpoint, Peer
from .calls import (
    Call,
    CallFailed,
    IncomingRefer,
    IncomingRequest,
    ReferOutcome,
    RequestFailed,
    SipRuntimeError,
)
from .counters import Counters
from .listen import ListenSpec, parse_listen_spec
from .loop import install_best_loop, run, tune_gc
from .tls import TlsConfig
from .transport import TransportLayer
from .useragent import UserAgent

__all__ = [
    "Call",
    "CallFailed",
    "Counters",
    "IncomingRefer",
    "IncomingRequest",
    "ListenSpec",
    "LocalEndpoint",
    "Peer",
    "ReferOutcome",
    "RequestFailed",
    "SipRuntimeError",
    "TlsConfig",
    "TransportLayer",
    "UserAgent",
    "install_best_loop",
    "parse_listen_spec",
    "run",
    "tune_gc",
]
