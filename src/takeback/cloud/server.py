"""The emulator process: SIP listeners, the call engine, the OPTIONS pinger and (optionally) the REST API.

``takeback cloud`` runs one :class:`CloudServer`; tests start one on ephemeral ports::

    async with CloudServer(org, sip=["udp:127.0.0.1:0"]) as cloud:
        record = await cloud.call("+18005550100")
        await record.wait(10)

TLS (GENESYS.md §7, §11 item 8): ``sip=["tls:127.0.0.1:5061"]`` with ``tls=emulator_tls(certfile, …)``.
Genesys does one-way TLS 1.2 with RSA suites only (ECDHE on secp384r1), both roles alike
(:mod:`.tls_policy`): our certificate serves the listener and is never offered as a client
certificate; as a client toward a device (a trunk with ``protocol: tls``) we verify its certificate
against ``cafile`` (default: the system store). The files are loaded in :meth:`CloudServer.start`, so a
bad one fails there (:class:`~takeback.net.tls.TlsFileError` names the field), not at the first call.

With ``api=(host, port)`` the Platform API subset (:mod:`takeback.cloud.api`) runs in the same loop and
the SIP side routes with its :class:`~takeback.cloud.api.OrgState`, so changes made through the API
apply to the next call; analytics read the same conversation store the SIP side writes.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from takeback.media import MediaScheduler, PortAllocator
from takeback.net import LocalEndpoint, parse_listen_spec
from takeback.net.tls import TlsConfig, check_files

from .calllog import ConversationRecord
from .conversations import ConversationStore, MemoryConversationStore
from .engine import CloudEngine
from .invite import ALLOW
from .org import Org, load_builtin_org
from .pinger import OptionsPinger, ProxyHealth
from .pstn import PstnCaller, place_pstn_call
from .sipua import EmulatorUserAgent, Recorder
from .tls_policy import CipherMode, cipher_settings

if TYPE_CHECKING:
    from takeback.observe import SipTrace

__all__ = [
    "DEFAULT_API",
    "DEFAULT_SIP",
    "TRACE_PARTY",
    "CloudServer",
    "emulator_tls",
    "tls_trunks_without_listener",
]

logger = logging.getLogger("takeback.cloud")

#: DESIGN.md §3 network defaults of the emulator.
DEFAULT_SIP: tuple[str, ...] = ("udp:127.0.0.1:5070", "tcp:127.0.0.1:5070")
DEFAULT_API: tuple[str, int] = ("127.0.0.1", 8070)


def emulator_tls(
    certfile: str | None = None,
    keyfile: str | None = None,
    cafile: str | None = None,
    *,
    max_version: str | None = "1.2",
    ciphers: CipherMode = "genesys",
) -> TlsConfig:
    """Genesys' TLS (GENESYS.md §7 [DOC RC-TLS]): TLS 1.2 (floor always, cap by default), server
    certificate only (``offer_client_cert=False``: "mutual TLS not supported"), device certificates
    verified against ``cafile`` or the system store, with the name or IP the trunk targets (RFC 5922).

    ``ciphers="genesys"``: the RC's eight RSA suites and ECDHE on secp384r1 only, as server and as client
    (:mod:`takeback.cloud.tls_policy`), so a device with an ECDSA certificate fails as with real Genesys;
    ``"default"``: Python's defaults."""
    suites, curve = cipher_settings(ciphers)
    return TlsConfig(
        certfile=certfile,
        keyfile=keyfile,
        cafile=cafile,
        offer_client_cert=False,
        max_version=max_version,
        ciphers=suites,
        ecdh_curve=curve,
    )


def tls_trunks_without_listener(org: Org, sip: Sequence[str]) -> list[int]:
    """Indexes of the enabled BYOC trunks with ``protocol: tls`` when no ``tls:`` listener is configured:
    our Contact and Record-Route on their INVITEs must be a ``sips:`` URI of a TLS listening point, where
    the device sends its in-dialog requests (RFC 3261 §26.2.1; REFER, BYE, NOTIFY answers)."""
    if any(parse_listen_spec(spec).transport == "TLS" for spec in sip):
        return []
    return [
        index
        for index, trunk in enumerate(org.trunks)
        if trunk.kind == "byoc" and trunk.enabled and trunk.protocol == "tls"
    ]


class CloudServer:
    """One emulator (module doc). ``media_ports`` is the RTP port range; ``advertise`` the host written
    in our headers when listening on a wildcard address; ``trace`` records every SIP message sent and
    received as party ``"genesys"`` (pcap / ladder with :mod:`takeback.observe`)."""

    def __init__(
        self,
        org: Org | None = None,
        *,
        sip: Sequence[str] = DEFAULT_SIP,
        api: tuple[str, int] | None = None,
        store: ConversationStore | None = None,
        rng: random.Random | None = None,
        media_address: str | None = None,
        media_ports: tuple[int, int] = (16384, 32767),
        advertise: str | None = None,
        api_settings: Any = None,
        trace: SipTrace | None = None,
        tls: TlsConfig | None = None,
    ) -> None:
        self.initial_org = org if org is not None else load_builtin_org()
        self.sip = list(sip)
        self.api_address = api
        self.api_settings = api_settings
        self.store = store if store is not None else MemoryConversationStore()
        self.rng = rng if rng is not None else random.SystemRandom()
        self.media_address = media_address
        self.media_ports = media_ports
        self.advertise = advertise
        self.trace = trace
        self.tls = tls if tls is not None else emulator_tls()
        self.health = ProxyHealth()
        self.state: Any = None  # takeback.cloud.api.OrgState when the API runs
        self.api: Any = None  # takeback.cloud.api.ApiServer
        self.ua: EmulatorUserAgent | None = None
        self.engine: CloudEngine | None = None
        self.pinger: OptionsPinger | None = None
        self.scheduler: MediaScheduler | None = None

    @property
    def org(self) -> Org:
        """The current org (the API's when it runs, else the one given)."""
        return self.state.org if self.state is not None else self.initial_org

    async def start(self) -> CloudServer:
        listens_tls = any(parse_listen_spec(spec).transport == "TLS" for spec in self.sip)
        check_files(self.tls, listen=listens_tls)  # TlsFileError (a ValueError) before any socket opens
        if self.api_address is not None:
            from .api import OrgState  # aiohttp only when the REST side is wanted

            self.state = OrgState(self.initial_org)
        core_options = {
            "user_agent": "takeback-cloud",
            "contact_user": "",
            "allow": ALLOW,
            "supported": (),  # no RFC 4028 refresh duty for us (GENESYS.md §4.4: timers UNKNOWN)
        }
        recorder = trace_party(self.trace) if self.trace is not None else None
        self.ua = EmulatorUserAgent(
            self.sip,
            org_source=lambda: self.org,
            core_options=core_options,
            rng=self.rng,
            recorder=recorder,
            tls=self.tls,
        )
        try:
            await self.ua.start()
            await self._start_engine()
            if self.api_address is not None:
                await self._start_api()
        except BaseException:
            await self.close()
            raise
        logger.info("emulator SIP on %s", ", ".join(_spec(e) for e in self.endpoints))
        return self

    async def _start_engine(self) -> None:
        assert self.ua is not None
        address = self.media_address or _media_host(self.ua.endpoints[0].host)
        self.scheduler = MediaScheduler()
        ports = PortAllocator(address, self.media_ports[0], self.media_ports[1], dscp=None)
        self.engine = CloudEngine(
            self.ua,
            lambda: self.org,
            self.store,
            rng=self.rng,
            scheduler=self.scheduler,
            ports=ports,
            media_address=address,
            is_down=self.health.is_down,
            advertise=self.advertise,
        )
        self.pinger = OptionsPinger(self.ua, lambda: self.org, self.health)
        self.pinger.start()

    async def _start_api(self) -> None:
        from .api import ApiServer
        from .calls_api import add_call_routes

        assert self.api_address is not None
        host, port = self.api_address
        kwargs = {"settings": self.api_settings} if self.api_settings is not None else {}
        self.api = ApiServer(self.state, self.store, host=host, port=port, **kwargs)
        add_call_routes(self.api.app, self._engine, lambda: self.trace)
        await self.api.start()

    def _engine(self) -> CloudEngine:
        assert self.engine is not None
        return self.engine

    async def close(self) -> None:
        if self.pinger is not None:
            await self.pinger.close()
        if self.engine is not None:
            await self.engine.close()
        if self.api is not None:
            await self.api.stop()
            self.api = None
        if self.ua is not None:
            await self.ua.close()
        if self.scheduler is not None:
            self.scheduler.close()

    async def __aenter__(self) -> CloudServer:
        return await self.start()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def endpoints(self) -> list[LocalEndpoint]:
        return self.ua.endpoints if self.ua is not None else []

    def endpoint(self, transport: str = "UDP") -> LocalEndpoint:
        assert self.ua is not None
        return self.ua.endpoint(transport)

    async def call(self, dnis: str, **caller: Any) -> ConversationRecord:
        """A simulated PSTN call to ``dnis`` (:class:`~takeback.cloud.pstn.PstnCaller` fields as keywords)."""
        assert self.engine is not None, "start() the emulator first"
        return await place_pstn_call(self.engine, PstnCaller(dnis=dnis, **caller))

    def conversation(self, conversation_id: str) -> ConversationRecord:
        assert self.engine is not None
        return self.engine.conversation(conversation_id)


#: The party name of the emulator in traces and ladders.
TRACE_PARTY = "genesys"


def trace_party(trace: SipTrace) -> Recorder:
    return trace.for_party(TRACE_PARTY)


def _spec(endpoint: LocalEndpoint) -> str:
    return f"{endpoint.transport.lower()}:{endpoint.host}:{endpoint.port}"


def _media_host(sip_host: str) -> str:
    """RTP on the SIP address unless that is a wildcard (then loopback: set ``media_address``)."""
    return "127.0.0.1" if sip_host in ("0.0.0.0", "::", "") else sip_host
