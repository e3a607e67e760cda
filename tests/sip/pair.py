"""Two SIP cores wired together in memory, with a virtual clock and packet loss injection.

``Pair`` moves every datagram/stream write of one core to the other (by destination port), collects the
events of each side, and advances time only through the cores' own timers, so retransmission paths are
exercised deterministically and a 64*T1 wait costs nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from takeback.sip import Request, Response, parse_message
from takeback.sip.core import CoreConfig, LocalEndpoint, Peer, SipCore
from takeback.sip.events import Event

E = TypeVar("E")

A_PORT = 5070
B_PORT = 5080
HOST = "127.0.0.1"


@dataclass
class Packet:
    index: int
    sender: str
    data: bytes
    dest: Peer
    time: float = 0.0
    dropped: bool = False
    message: Request | Response | None = field(default=None, repr=False)

    @property
    def first_line(self) -> str:
        return self.data.split(b"\r\n", 1)[0].decode()


class Pair:
    """Core ``a`` (port 5070) and core ``b`` (port 5080) over one transport."""

    def __init__(self, transport: str = "UDP", *, seed: int = 7, **config: Any) -> None:
        self.transport = transport
        self.now = 0.0
        self.a = SipCore(self._config(A_PORT, config), random.Random(seed))
        self.b = SipCore(self._config(B_PORT, config), random.Random(seed + 1))
        self.names = {id(self.a): "a", id(self.b): "b"}
        self.by_port = {A_PORT: self.a, B_PORT: self.b}
        self.packets: list[Packet] = []
        self.events: dict[str, list[Event]] = {"a": [], "b": []}
        self._consumed: set[int] = set()
        self._drop_rules: list[list[Any]] = []

    def _config(self, port: int, overrides: dict[str, Any]) -> CoreConfig:
        return CoreConfig(endpoints=(LocalEndpoint(self.transport, HOST, port),), **overrides)

    @property
    def reliable(self) -> bool:
        return self.transport != "UDP"

    def peer(self, core: SipCore) -> Peer:
        """The address to send to to reach ``core``."""
        port = A_PORT if core is self.a else B_PORT
        return Peer(self.transport, HOST, port, 1 if self.reliable else None)

    # -- loss injection --

    def drop(self, sender: str, prefix: str, count: int = 1, skip: int = 0) -> None:
        """Drop the next ``count`` packets from ``sender`` whose first line starts with ``prefix``
        (after letting ``skip`` matching ones through)."""
        self._drop_rules.append([sender, prefix, count, skip])

    def drop_where(self, predicate: Callable[[Packet], bool]) -> None:
        self._drop_rules.append([predicate])

    def _should_drop(self, packet: Packet) -> bool:
        for rule in self._drop_rules:
            if len(rule) == 1:
                if rule[0](packet):
                    return True
                continue
            sender, prefix, count, skip = rule
            if count <= 0 or packet.sender != sender or not packet.first_line.startswith(prefix):
                continue
            if skip > 0:
                rule[3] -= 1
                continue
            rule[2] -= 1
            return True
        return False

    # -- moving packets and time --

    def pump(self, max_rounds: int = 1000) -> None:
        """Deliver everything queued, until both cores are quiet."""
        for _ in range(max_rounds):
            moved = False
            for name, core in (("a", self.a), ("b", self.b)):
                self._collect(name, core)
                for data, dest in core.data_to_send():
                    moved = True
                    self._deliver(name, core, data, dest)
                self._collect(name, core)
            if not moved:
                return
        raise AssertionError("pump did not settle")

    def _deliver(self, name: str, sender: SipCore, data: bytes, dest: Peer) -> None:
        packet = Packet(len(self.packets), name, data, dest, self.now)
        self.packets.append(packet)
        packet.message = parse_message(data)
        target = self.by_port.get(dest.port)
        if self._should_drop(packet) or target is None or dest.host != HOST:
            packet.dropped = True
            return
        src_port = A_PORT if sender is self.a else B_PORT
        source = Peer(self.transport, HOST, src_port, 1 if self.reliable else None)
        if self.reliable:
            target.receive_message(parse_message(data), source, self.now)
        else:
            target.receive_datagram(data, source, self.now)

    def _collect(self, name: str, core: SipCore) -> None:
        while (event := core.next_event()) is not None:
            self.events[name].append(event)

    def next_deadline(self) -> float | None:
        deadlines = [t for t in (self.a.get_timer(), self.b.get_timer()) if t is not None]
        return min(deadlines) if deadlines else None

    def advance(self, seconds: float, max_steps: int = 100_000) -> None:
        """Let ``seconds`` of virtual time pass, firing every timer due on the way."""
        target = self.now + seconds
        self.pump()
        for _ in range(max_steps):
            deadline = self.next_deadline()
            if deadline is None or deadline > target:
                break
            self.now = max(self.now, deadline)
            for core in (self.a, self.b):
                timer = core.get_timer()
                if timer is not None and timer <= self.now:
                    core.handle_timer(self.now)
            self.pump()
        else:
            raise AssertionError("advance did not settle")
        self.now = target

    def run_out(self, limit: float = 600.0) -> None:
        """Advance until no timer is left (bounded by ``limit`` seconds)."""
        self.advance(0)
        start = self.now
        while (deadline := self.next_deadline()) is not None:
            assert deadline - start <= limit, f"timers still running after {limit}s"
            self.advance(deadline - self.now)

    # -- inspecting --

    def take(self, name: str, kind: type[E]) -> E:
        """The first not-yet-taken event of ``kind`` on side ``name``."""
        for event in self.events[name]:
            if isinstance(event, kind) and id(event) not in self._consumed:
                self._consumed.add(id(event))
                return event
        raise AssertionError(f"no {kind.__name__} on {name}: {self.events[name]}")

    def all(self, name: str, kind: type[E]) -> list[E]:
        return [e for e in self.events[name] if isinstance(e, kind)]

    def sent(self, sender: str, prefix: str) -> list[Packet]:
        return [p for p in self.packets if p.sender == sender and p.first_line.startswith(prefix)]

    def count(self, sender: str, prefix: str) -> int:
        return len(self.sent(sender, prefix))

    def assert_clean(self) -> None:
        """No transaction, dialog or timer left on either side."""
        for name, core in (("a", self.a), ("b", self.b)):
            assert core.transaction_count == 0, (name, core._client_txs, core._server_txs)
            assert core.dialog_count == 0, (name, dict(core.dialogs))
            assert core.timer_count == 0, name


def invite(pair: Pair, caller: SipCore | None = None, callee: SipCore | None = None, **kw: Any) -> Any:
    """Send an INVITE from ``caller`` (default a) to ``callee`` (default b); returns the client tx."""
    caller = caller or pair.a
    callee = callee or pair.b
    dest = pair.peer(callee)
    req = caller.make_request(
        "INVITE",
        f"sip:+13175550100@{dest.host}:{dest.port}",
        from_="<sip:+15551234567@example.com>",
        to="<sip:+13175550100@example.com>",
        body=b"v=0\r\n",
        content_type="application/sdp",
        **kw,
    )
    return caller.send_request(req, dest, pair.now)
