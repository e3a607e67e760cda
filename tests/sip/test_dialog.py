"""RFC 3261 §12 dialogs: creation on both sides, route sets, remote target verbatim, CSeq, refresh."""

from __future__ import annotations

import pytest

from takeback.sip import TransactionError, parse_message
from takeback.sip.core import Peer
from takeback.sip.dialog import Dialog, DialogId, DialogState, raw_uri
from takeback.sip.events import (
    AckReceived,
    DialogConfirmed,
    DialogCreated,
    DialogTerminated,
    RequestReceived,
    ResponseReceived,
)

from .pair import HOST, Pair, invite

TRANSPORTS = ["UDP", "TCP"]
GENESYS_CONTACT = "sip:gen-7f3a@127.0.0.1:5070;transport={t};x-inin-cnv=2c3b5a1e;ob;Opaque=Ab%2FCd"


def call(pair: Pair, headers=(), answer_headers=()):
    tx = invite(pair, headers=list(headers))
    pair.pump()
    event = pair.take("b", RequestReceived)
    pair.b.respond(event.tx, 200, now=pair.now, headers=list(answer_headers))
    pair.pump()
    return tx.dialog, event.tx.dialog


# ---------------------------------------------------------------- remote target and route set


def test_raw_uri_keeps_the_uri_byte_for_byte():
    assert raw_uri('"A <b>" <sip:x@h;ob;x-Y=%41>;expires=60') == "sip:x@h;ob;x-Y=%41"
    assert raw_uri("sip:x@h;transport=tcp") == "sip:x@h"  # addr-spec: params are header params
    assert raw_uri("  <sips:h:5061>  ") == "sips:h:5061"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_uas_uses_the_callers_contact_verbatim_as_request_uri(transport):
    """GENESYS.md §4.2 / §12 item 3: unknown Contact params come back in the R-URI of BYE/REFER."""
    pair = Pair(transport)
    contact = GENESYS_CONTACT.format(t=transport.lower())
    _uac, uas = call(pair, headers=[("Contact", f'"Genesys" <{contact}>;+sip.instance="<urn:x>"')])
    assert uas.remote_target == contact
    pair.b.bye(uas, pair.now)
    pair.pump()
    bye = pair.sent("b", "BYE")[0]
    assert bye.first_line == f"BYE {contact} SIP/2.0"
    assert bye.dest.port == 5070 and bye.dest.transport == transport
    assert pair.take("a", DialogTerminated).reason == "remote-bye"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_uac_uses_the_callees_contact_verbatim(transport):
    pair = Pair(transport)
    contact = "sip:dev@127.0.0.1:5080;transport=" + transport.lower() + ";x-dev=1;LR-like"
    uac, _uas = call(pair, answer_headers=[("Contact", f"<{contact}>")])
    assert uac.remote_target == contact
    ack = pair.sent("a", "ACK")[0]
    assert ack.first_line == f"ACK {contact} SIP/2.0"


def test_route_sets_uas_in_order_uac_reversed():
    pair = Pair("UDP")
    rr = ["<sip:127.0.0.1:5070;lr;x=1>", "<sip:proxy2.example.com;lr>"]
    uac, uas = call(pair, headers=[("Record-Route", ", ".join(rr))])
    assert uas.route_set == rr
    assert uac.route_set == list(reversed(rr))
    r200 = pair.sent("b", "SIP/2.0 200")[0].message
    assert r200.headers.get_all("Record-Route") == rr  # §12.1.1: copied into the response
    # UAC: next hop is the first route (an FQDN: the runtime resolves it), R-URI the remote target
    assert uac.next_hop() == Peer("UDP", "proxy2.example.com", 5060)
    ack = pair.sent("a", "ACK")[0]
    assert ack.dest == Peer("UDP", "proxy2.example.com", 5060)
    assert ack.message.headers.get_all("Route") == list(reversed(rr))
    assert ack.first_line.startswith("ACK sip:takeback@127.0.0.1:5080 ")
    # (the "proxy" forwards the ACK by hand)
    pair.b.receive_datagram(ack.data, pair.peer(pair.a), pair.now)
    # UAS: BYE goes to the first route, with the whole route set, R-URI = caller's Contact
    pair.b.bye(uas, pair.now)
    pair.pump()
    bye = pair.sent("b", "BYE")[0]
    assert bye.dest == Peer("UDP", HOST, 5070)
    assert bye.message.headers.get_all("Route") == rr
    assert bye.first_line.startswith("BYE sip:takeback@127.0.0.1:5070 ")


def test_strict_routing_first_route_becomes_request_uri():
    """§12.2.1.1: a first route without lr: R-URI = that route, remote target appended as last Route."""
    pair = Pair("UDP")
    rr = ["<sip:127.0.0.1:5070;transport=udp;maddr=127.0.0.1>", "<sip:p2.example.com;lr>"]
    _uac, uas = call(pair, headers=[("Record-Route", ", ".join(rr))])
    request = pair.b.create_request(uas, "INFO")
    assert request.uri == "sip:127.0.0.1:5070;transport=udp"
    assert request.headers.get_all("Route") == [rr[1], "<sip:takeback@127.0.0.1:5070>"]
    assert uas.next_hop() == Peer("UDP", HOST, 5070)


def test_dialog_ids_and_parties_mirror_each_other():
    pair = Pair("UDP")
    uac, uas = call(pair)
    assert uac.id == DialogId(uas.call_id, uas.remote_tag, uas.local_tag)
    assert uac.local_party == uas.remote_party
    assert uac.remote_party == uas.local_party
    assert uac.local_uri == "sip:+15551234567@example.com"
    assert uas.local_uri == "sip:+13175550100@example.com"
    assert pair.a.dialogs[uac.id] is uac


# ---------------------------------------------------------------- CSeq (§12.2.1.1, §12.2.2)


def test_local_cseq_increments_ack_keeps_the_invite_number():
    pair = Pair("UDP")
    uac, _uas = call(pair)
    ack = pair.sent("a", "ACK")[0].message
    assert ack.cseq.seq == uac.invite.cseq.seq == 1
    assert ack.top_via.branch != uac.invite.top_via.branch  # ACK for 2xx: a new transaction
    r1 = pair.a.create_request(uac, "INFO")
    r2 = pair.a.create_request(uac, "INFO")
    assert (r1.cseq.seq, r2.cseq.seq) == (2, 3)


def test_lower_cseq_gets_500_and_does_not_reach_the_tu():
    pair = Pair("UDP")
    uac, _uas = call(pair)
    pair.a.request(uac, "INFO", pair.now)
    pair.pump()
    pair.b.respond(pair.take("b", RequestReceived).tx, 200, now=pair.now)
    stale = pair.a.create_request(uac, "INFO")
    stale.headers.set("CSeq", "1 INFO")
    stale.invalidate()
    pair.a.send_in_dialog(uac, stale, pair.now)
    pair.pump()
    statuses = [e.response.status for e in pair.all("a", ResponseReceived) if e.tx.method == "INFO"]
    assert statuses == [200, 500]
    assert len([e for e in pair.all("b", RequestReceived) if e.request.method == "INFO"]) == 1


def test_uas_learns_remote_cseq_from_later_requests():
    pair = Pair("UDP")
    uac, uas = call(pair)
    assert uas.remote_seq == 1 and uac.remote_seq is None
    pair.b.request(uas, "INFO", pair.now)
    pair.pump()
    assert uac.remote_seq == 1
    pair.a.respond(pair.take("a", RequestReceived).tx, 200, now=pair.now)


# ---------------------------------------------------------------- target refresh, re-INVITE


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_reinvite_refreshes_the_target_on_both_sides(transport):
    pair = Pair(transport)
    uac, uas = call(pair)
    new_contact = f"<sip:moved@127.0.0.1:5070;transport={transport.lower()};v=2>"
    pair.a.request(uac, "INVITE", pair.now, headers=[("Contact", new_contact)])
    pair.pump()
    reinvite = pair.take("b", RequestReceived)
    assert reinvite.dialog is uas
    pair.b.respond(
        reinvite.tx,
        200,
        now=pair.now,
        headers=[("Contact", f"<sip:dev2@127.0.0.1:5080;transport={transport.lower()}>")],
    )
    pair.pump()
    assert uas.remote_target == new_contact[1:-1]
    assert uac.remote_target == f"sip:dev2@127.0.0.1:5080;transport={transport.lower()}"
    assert len(pair.all("b", AckReceived)) == 2  # one per 2xx
    reack = pair.sent("a", "ACK")[-1].message
    assert reack.cseq.seq == 2
    assert len(pair.all("a", DialogConfirmed)) == 1  # a re-INVITE does not create a dialog
    pair.a.bye(uac, pair.now)
    pair.run_out()
    pair.assert_clean()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("status", [488, 481])
def test_rejected_reinvite_updates_the_dialog_on_every_transport(transport, status):
    """On TCP the re-INVITE's transaction ends (Timer D is zero) while its failure is still being handled:
    the dialog must still hear of it (481 ends the dialog; any failure clears the pending re-INVITE)."""
    pair = Pair(transport)
    uac, _uas = call(pair)
    pair.a.request(uac, "INVITE", pair.now)
    pair.pump()
    pair.b.respond(pair.take("b", RequestReceived).tx, status, now=pair.now)
    pair.pump()
    assert uac.pending_client_invite is None
    assert (uac.state == "terminated") == (status == 481)
    pair.run_out()


def test_second_reinvite_while_one_is_pending_gets_500():
    pair = Pair("UDP")
    uac, _uas = call(pair)
    pair.a.request(uac, "INVITE", pair.now)
    pair.pump()
    first = pair.take("b", RequestReceived)
    second = pair.a.create_request(uac, "INVITE")
    pair.a.send_in_dialog(uac, second, pair.now)
    pair.pump()
    response = [e.response for e in pair.all("a", ResponseReceived) if e.response.cseq.seq == 3][-1]
    assert response.status == 500 and response.headers.get("Retry-After")
    pair.b.respond(first.tx, 200, now=pair.now)
    pair.pump()


def test_reinvite_glare_gets_491():
    pair = Pair("UDP")
    uac, uas = call(pair)
    pair.drop_where(lambda p: p.sender == "a" and p.first_line.startswith("INVITE"))
    pair.a.request(uac, "INVITE", pair.now)  # a's re-INVITE is in flight (lost here) ...
    pair.pump()
    pair.b.request(uas, "INVITE", pair.now)  # ... when b's arrives
    pair.pump()
    response = [e.response for e in pair.all("b", ResponseReceived)][-1]
    assert response.status == 491


# ---------------------------------------------------------------- early dialogs, forking


def test_early_dialogs_on_both_sides_end_with_the_rejection():
    pair = Pair("UDP")
    tx = invite(pair)
    pair.pump()
    event = pair.take("b", RequestReceived)
    pair.b.respond(event.tx, 183, now=pair.now)
    pair.pump()
    uac = pair.take("a", DialogCreated).dialog
    uas = pair.take("b", DialogCreated).dialog
    assert uac.state is DialogState.EARLY and uas.state is DialogState.EARLY
    assert tx.dialog is uac and uac.remote_tag == uas.local_tag
    pair.b.respond(event.tx, 480, now=pair.now)
    pair.pump()
    assert pair.take("a", DialogTerminated).reason == "rejected"
    assert pair.take("b", DialogTerminated).reason == "rejected"
    pair.run_out()
    pair.assert_clean()


def test_early_dialog_is_confirmed_by_the_2xx_with_the_same_tag():
    pair = Pair("UDP")
    tx = invite(pair)
    pair.pump()
    event = pair.take("b", RequestReceived)
    pair.b.respond(event.tx, 180, now=pair.now)
    pair.b.respond(event.tx, 200, now=pair.now)
    pair.pump()
    assert len(pair.all("a", DialogCreated)) == 1
    assert pair.take("a", DialogConfirmed).dialog is tx.dialog


def test_forked_2xx_creates_a_second_dialog_which_is_acked_too():
    pair = Pair("UDP")
    tx = invite(pair)
    pair.pump()
    pair.b.respond(pair.take("b", RequestReceived).tx, 200, now=pair.now)
    pair.pump()
    first = tx.dialog
    first_200 = pair.sent("b", "SIP/2.0 200")[0].data
    fork = first_200.replace(first.remote_tag.encode(), b"forked1234")
    pair.a.receive_datagram(fork, pair.peer(pair.b), pair.now)
    pair.pump()
    dialogs = [e.dialog for e in pair.all("a", DialogConfirmed)]
    assert [d.remote_tag for d in dialogs] == [first.remote_tag, "forked1234"]
    assert pair.count("a", "ACK") == 2
    pair.a.receive_datagram(fork, pair.peer(pair.b), pair.now)  # its retransmission: re-ACK only
    pair.pump()
    assert pair.count("a", "ACK") == 3 and len(pair.all("a", DialogConfirmed)) == 2


def test_uac_bye_on_an_early_dialog_cancels():
    pair = Pair("UDP")
    invite(pair)
    pair.pump()
    pair.b.respond(pair.take("b", RequestReceived).tx, 180, now=pair.now)
    pair.pump()
    uac = pair.take("a", DialogCreated).dialog
    assert pair.a.bye(uac, pair.now) is None
    pair.pump()
    assert pair.sent("a", "CANCEL") and pair.sent("b", "SIP/2.0 487")


def test_uas_cannot_bye_an_early_dialog():
    pair = Pair("UDP")
    invite(pair)
    pair.pump()
    pair.b.respond(pair.take("b", RequestReceived).tx, 180, now=pair.now)
    pair.pump()
    uas = pair.take("b", DialogCreated).dialog
    with pytest.raises(TransactionError):
        pair.b.bye(uas, pair.now)


def test_bye_from_the_caller_on_an_early_dialog_ends_the_invite_with_487():
    pair = Pair("UDP")
    invite(pair)
    pair.pump()
    pair.b.respond(pair.take("b", RequestReceived).tx, 180, now=pair.now)
    pair.pump()
    uac = pair.take("a", DialogCreated).dialog
    bye = pair.a.create_request(uac, "BYE")
    pair.a.send_in_dialog(uac, bye, pair.now)
    pair.pump()
    assert pair.sent("b", "SIP/2.0 487")
    assert pair.take("b", DialogTerminated).reason == "remote-bye"


# ---------------------------------------------------------------- termination


def test_requests_after_bye_get_481_and_sending_on_a_dead_dialog_is_an_error():
    pair = Pair("UDP")
    uac, uas = call(pair)
    info = pair.b.create_request(uas, "INFO")
    pair.a.bye(uac, pair.now)
    pair.pump()
    pair.b.send_request(info, uas.next_hop(), pair.now)  # the UAS had it ready: late
    pair.pump()
    assert [e.response.status for e in pair.all("b", ResponseReceived)] == [481]
    with pytest.raises(TransactionError):
        pair.a.request(uac, "INFO", pair.now)
    assert pair.a.bye(uac, pair.now) is None


def test_481_to_an_in_dialog_request_ends_the_dialog():
    pair = Pair("UDP")
    uac, uas = call(pair)
    pair.b.dialog_layer.dialogs.pop(uas.id)  # the peer forgot the dialog (restart)
    pair.a.request(uac, "INFO", pair.now)
    pair.pump()
    assert pair.take("a", DialogTerminated).reason == "481"


def test_in_dialog_transaction_timeout_ends_the_dialog():
    pair = Pair("UDP")
    uac, _uas = call(pair)
    pair.drop_where(lambda p: p.sender == "a")
    pair.a.request(uac, "UPDATE", pair.now)
    pair.advance(33)
    assert pair.take("a", DialogTerminated).reason == "408"


def test_dialog_repr_and_parse_of_uas_dialog():
    pair = Pair("UDP")
    _uac, uas = call(pair)
    assert isinstance(uas, Dialog) and "UAS" in repr(uas)
    options = pair.b.create_request(uas, "OPTIONS")
    pair.b.prepare_request(options, uas.next_hop())
    assert parse_message(bytes(options)).headers.get("Max-Forwards") == "70"


def test_in_dialog_request_headers_are_what_the_checked_constructor_builds():
    from takeback.sip.message import Headers

    pair = Pair("UDP")
    uac, _uas = call(pair)
    via = "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx;rport"
    request = uac.create_request("INFO", contact="<sip:a@h>", via=via)
    fields = request.headers.items_as_written()
    assert request.headers == Headers(fields)
    assert request.headers.keys == Headers(fields).keys
    assert bytes(request).startswith(f"INFO {uac.remote_target} SIP/2.0\r\nVia: {via}\r\n".encode())
    with pytest.raises(ValueError, match="line break"):
        uac.create_request("INFO", via=via + "\r\nX-Injected: 1")
