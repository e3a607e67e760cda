"""Which trunk and DID an inbound INVITE gets (takeback.cloud.inbound.identify_inbound): GENESYS.md §3.3
(DNIS Replacement Routing ``trunk_routing_inbound_dnis_enabled``, Inbound SIP Termination Header) and
§10 (6), per RC-SIPRT's three identifier methods FQDN / TGRP / DNIS.

A takeback UserAgent plays the carrier over real UDP sockets. The DID's flow just answers, plays and hangs
up, so each call ends by itself.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from takeback.cloud import parse_org
from takeback.cloud.engine import ActiveConversation
from takeback.cloud.server import CloudServer
from takeback.net import CallFailed, Peer, UserAgent

from .support import CALLER, MAIN_DID, org_data

CARRIER = "carrier.example"


def routing_org(
    *, pstn: dict[str, Any] | None = None, device: dict[str, Any] | None = None, **policies: Any
) -> Any:
    """Trunks PSTN (identifier ``pstn``) and Device (``myexternaldevicetrunk``); Main IVR plays, hangs up."""
    data = org_data(9, policies=policies)
    data["trunks"][0].update(pstn or {})
    data["trunks"][1].update(device or {})
    data["flows"][0]["actions"] = [{"play": "Hello {Call.CalledAddress}"}, "disconnect"]
    return parse_org(data)


async def place(
    org: Any, uri: str, *, to: str | None = None, headers: tuple[tuple[str, str], ...] = ()
) -> ActiveConversation:
    """One inbound call; returns its conversation once the flow has hung up on the carrier."""
    async with CloudServer(org, sip=["udp:127.0.0.1:0"]) as cloud, UserAgent() as carrier:
        call = await carrier.invite(
            uri,
            dest=Peer("UDP", "127.0.0.1", cloud.endpoint("UDP").port),
            from_=f"<sip:{CALLER}@{CARRIER}>",
            to=to,
            headers=headers,
            timeout=10,
        )
        assert await asyncio.wait_for(call.wait_terminated(), 10) == "remote-bye"
        assert cloud.engine is not None
        (active,) = cloud.engine.conversations.values()
        await active.record.wait(10)
    return active


async def refused(org: Any, uri: str, *, to: str | None = None) -> int:
    async with CloudServer(org, sip=["udp:127.0.0.1:0"]) as cloud, UserAgent() as carrier:
        with pytest.raises(CallFailed) as failed:
            await carrier.invite(
                uri, dest=Peer("UDP", "127.0.0.1", cloud.endpoint("UDP").port), to=to, timeout=10
            )
    return failed.value.status


def trunk_and_did(active: ActiveConversation) -> tuple[str | None, str, str]:
    trunk = active.inbound_trunk.name if active.inbound_trunk is not None else None
    return trunk, active.record.dnis, active.record.flows_run[0].prompts[0]


async def test_dnis_replacement_routing_reads_the_did_from_the_to_header() -> None:
    """§3.3 DNIS Replacement Routing (RC-SIPRT; INFERRED default dnis_replacement_number_source = to): the
    identifier replaces the DNIS in the Request-URI user part; the dialed number is the To user."""
    org = routing_org(pstn={"dnis_replacement_routing": True})
    active = await place(org, "sip:pstn@127.0.0.1", to=f"<sip:{MAIN_DID}@{CARRIER}>")
    assert trunk_and_did(active) == ("PSTN", MAIN_DID, f"Hello {MAIN_DID}")


async def test_without_dnis_replacement_routing_the_identifier_is_an_unknown_dnis() -> None:
    """§3.3: the setting is off by default; the Request-URI user part is then the DNIS -> no flow, 404."""
    org = routing_org()
    assert await refused(org, "sip:pstn@127.0.0.1", to=f"<sip:{MAIN_DID}@{CARRIER}>") == 404


async def test_dnis_replacement_from_p_called_party_id() -> None:
    """§3.3 INFERRED alternative (dnis_replacement_number_source = p-called-party-id, RFC 3455)."""
    org = routing_org(
        pstn={"dnis_replacement_routing": True}, dnis_replacement_number_source="p-called-party-id"
    )
    active = await place(
        org, "sip:PSTN@127.0.0.1", to="<sip:pstn@127.0.0.1>",
        headers=(("P-Called-Party-ID", f"<sip:{MAIN_DID}@{CARRIER}>"),),
    )  # fmt: skip
    assert trunk_and_did(active)[:2] == ("PSTN", MAIN_DID)


async def test_tgrp_names_the_trunk() -> None:
    """§3.3 / RC-SIPRT TGRP method (RFC 4904 user-part parameters, INFERRED syntax): the trunk group is the
    identifier, the DID is the user part without its parameters."""
    uri = f"sip:{MAIN_DID};tgrp=myexternaldevicetrunk;trunk-context={CARRIER}@127.0.0.1;user=phone"
    active = await place(routing_org(), uri)
    assert trunk_and_did(active)[:2] == ("Device", MAIN_DID)


async def test_the_inbound_sip_termination_header_names_the_trunk() -> None:
    """§3.3 Inbound SIP Termination Header [DOC RC-SIPRT]: a custom header carrying the identifier."""
    org = routing_org(device={"inbound_sip_termination_header": "X-Carrier-Trunk"})
    active = await place(
        org, f"sip:{MAIN_DID}@127.0.0.1", headers=(("X-Carrier-Trunk", "MyExternalDeviceTrunk"),)
    )
    assert trunk_and_did(active)[:2] == ("Device", MAIN_DID)


async def test_fqdn_then_acl_fallback() -> None:
    """§2.2/§10 (6): the Request-URI host names the trunk; an IP host falls back to the first BYOC trunk
    whose ACL admits the source (INFERRED)."""
    org = routing_org()
    by_fqdn = await place(org, f"sip:{MAIN_DID}@myexternaldevicetrunk.byoc.mypurecloud.com")
    by_acl = await place(org, f"sip:{MAIN_DID}@127.0.0.1")
    assert trunk_and_did(by_fqdn)[0] == "Device" and trunk_and_did(by_acl)[0] == "PSTN"
