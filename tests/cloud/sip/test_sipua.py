"""The emulator's SIP edge (takeback.cloud.sipua): ACL, strict Contact, Record-Route, per-dialog Contact.

GENESYS.md §4.2 (RC-CARR, RC-DCV), §4.3 (RC-ACL), §11 items 4-5, §12 items 3 and 13. Real UDP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import random
import socket
from typing import Any

import pytest

from takeback.cloud import parse_org
from takeback.cloud.invite import CONTACT_PARAM
from takeback.cloud.server import CloudServer
from takeback.net import Call
from takeback.sip import Response, SipUri, parse_message, parse_name_addr
from takeback.sip.dialog import raw_uri

from .support import MAIN_DID, Device, device_trunk, make_org, org_data, until
from .test_takeback import running

OPTIONS = (
    "OPTIONS sip:cloud@127.0.0.1:{port} SIP/2.0\r\n"
    "Via: SIP/2.0/UDP {via};branch=z9hG4bK-acl-{n};rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:scanner@example.com>;tag=s{n}\r\n"
    "To: <sip:cloud@127.0.0.1>\r\n"
    "Call-ID: acl-{n}@example.com\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "Content-Length: 0\r\n\r\n"
)


def stranger_org(**policies: Any) -> Any:
    """No trunk admits 127.0.0.1: SIP servers are hostnames (not auto-added) and allow lists are TEST-NET."""
    data = org_data(
        5080,
        trunk=device_trunk(5080, sip_servers=["device.invalid:5080"], sip_access_control=["192.0.2.0/24"]),
        pstn_servers=("carrier.invalid:5060",),
        policies=policies,
    )
    return parse_org(data)


async def options_from_socket(
    cloud: CloudServer, sock: socket.socket, n: int, via: str | None = None
) -> None:
    port = cloud.endpoint("UDP").port
    local = sock.getsockname()
    text = OPTIONS.format(port=port, via=via or f"127.0.0.1:{local[1]}", n=n)
    await asyncio.get_running_loop().sock_sendto(sock, text.encode(), ("127.0.0.1", port))


def udp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


async def test_acl_drops_requests_from_outside_the_allow_list() -> None:
    """§4.3 [DOC RC-ACL] / §11 item 5: a source outside allow list ∪ SIP servers is refused; default drop."""
    with udp_socket() as sock:
        async with CloudServer(stranger_org(), sip=["udp:127.0.0.1:0"], rng=random.Random(1)) as cloud:
            assert cloud.ua is not None
            await options_from_socket(cloud, sock, 1)
            await until(lambda: cloud.ua is not None and cloud.ua.acl_refused == 1)
            with pytest.raises(BlockingIOError):  # loopback delivers at once: nothing was sent back
                sock.recvfrom(4096)
            assert cloud.ua.core.transaction_count == 0  # never reached the SIP core


async def test_acl_refusal_can_answer_403() -> None:
    """§4.3 UNKNOWN response code: Policies.acl_refusal = "403" answers statelessly."""
    with udp_socket() as sock:
        async with CloudServer(stranger_org(acl_refusal="403"), sip=["udp:127.0.0.1:0"]) as cloud:
            await options_from_socket(cloud, sock, 2)
            data, _ = await asyncio.wait_for(asyncio.get_running_loop().sock_recvfrom(sock, 4096), 5)
    response = parse_message(data)
    assert response.status == 403  # type: ignore[union-attr]
    assert response.call_id == "acl-2@example.com"


async def test_acl_admits_the_trunk_sip_servers() -> None:
    """§4.3 [DOC RC-ACL]: the SIP servers' IPs are added to the allow list automatically."""
    with udp_socket() as sock:
        async with CloudServer(make_org(5080), sip=["udp:127.0.0.1:0"]) as cloud:
            await options_from_socket(cloud, sock, 3)
            data, _ = await asyncio.wait_for(asyncio.get_running_loop().sock_recvfrom(sock, 4096), 5)
    assert parse_message(data).status == 200  # type: ignore[union-attr]


async def test_acl_keyed_on_via_when_the_policy_says_so() -> None:
    """§4.3 'Use Source Address' UNKNOWN for BYOC: Policies.acl_source = "via" trusts the top Via host."""
    with udp_socket() as sock:
        async with CloudServer(stranger_org(acl_source="via"), sip=["udp:127.0.0.1:0"]) as cloud:
            await options_from_socket(cloud, sock, 4, via="192.0.2.10:5060")
            data, _ = await asyncio.wait_for(asyncio.get_running_loop().sock_recvfrom(sock, 4096), 5)
    assert parse_message(data).status == 200  # type: ignore[union-attr]


def drop_contact_param(call: Call) -> None:
    """A non-compliant device: strips unknown Contact parameters from the remote target (RC-DCV)."""
    assert call.dialog is not None
    target = call.dialog.remote_target
    call.dialog.remote_target = ";".join(p for p in target.split(";") if not p.startswith(CONTACT_PARAM))


@pytest.mark.parametrize(("policy", "status"), [({}, 481), ({"contact_param_violation_status": 404}, 404)])
async def test_strict_contact_rejects_requests_that_drop_the_opaque_parameter(
    policy: dict[str, Any], status: int
) -> None:
    """§4.2 RC-DCV / §11 item 4: in-dialog requests must echo the Contact parameter; strict -> 481 (404)."""
    device = Device(before_refer=drop_contact_param)
    async with running(device, policies=policy) as cloud:
        record = await cloud.call(MAIN_DID)
        await asyncio.wait_for(_outcome(device), 10)
        assert cloud.ua is not None and cloud.ua.contact_refused == 1
        await cloud.engine.hangup(record.conversation_id)  # type: ignore[union-attr]
    assert device.outcomes[0].status == status
    assert record.refers == []  # never reached the take-back logic


async def test_lenient_contact_when_strict_mode_is_off() -> None:
    """§4.2: Policies.strict_contact_params = false accepts a Request-URI without the parameter."""
    device = Device(before_refer=drop_contact_param)
    async with running(device, policies={"strict_contact_params": False}) as cloud:
        record = await cloud.call(MAIN_DID)
        await record.wait(10)
    assert device.outcomes[0].success
    assert record.flows_run[-1].uui_data == "This is my data"


async def test_record_route_contact_and_notify_contact_on_the_wire() -> None:
    """§4.2 [DOC RC-CARR]: the device's route set holds our Record-Route, our ACK goes straight to its
    Contact; the 202 and every NOTIFY carry the leg's Contact with the opaque parameter (RFC 6665 §4.4.1)."""
    device = Device()
    async with running(device) as cloud:
        record = await cloud.call(MAIN_DID)
        await record.wait(10)
        await asyncio.wait_for(device.done.get(), 10)
        port = cloud.endpoint("UDP").port
    invite = device.invites[0]
    token = parse_name_addr(invite.headers["Contact"]).uri.param(CONTACT_PARAM)  # type: ignore[union-attr]
    assert token
    assert invite.headers["Record-Route"] == f"<sip:127.0.0.1:{port};lr>"
    acks = device.ua.requests("ACK")
    assert acks and all("Route" not in ack.headers for ack in acks)
    notifies = device.ua.requests("NOTIFY")
    assert len(notifies) == 2
    accepted = [m for m in device.ua.received if isinstance(m, Response) and m.cseq.method == "REFER"]
    assert accepted and accepted[0].status == 202
    for message in (*notifies, accepted[0]):  # the SIP core writes the dialog's own Contact (RFC 3261 §12.2)
        uri = parse_name_addr(message.headers["Contact"]).uri
        assert isinstance(uri, SipUri) and uri.param(CONTACT_PARAM) == token
    byes = device.ua.requests("BYE")
    assert byes and "Route" not in byes[0].headers
    assert raw_uri(invite.headers["Contact"]).endswith(f"gcdlg={token}")
    assert record.refers[0].bye_by == "genesys"


async def _outcome(device: Device) -> None:
    while not device.outcomes:
        await asyncio.sleep(0.01)
