"""Whole calls through two cores: INVITE/200/ACK/BYE, loss, CANCEL races, UAS checks, leaks."""

from __future__ import annotations

import random

import pytest

from takeback.sip import SipParseError, TransactionError
from takeback.sip.core import CoreConfig, LocalEndpoint, Peer, SipCore
from takeback.sip.dialog import DialogState
from takeback.sip.events import (
    AckReceived,
    CancelReceived,
    DialogConfirmed,
    DialogCreated,
    DialogTerminated,
    MessageDiscarded,
    RequestReceived,
    ResponseReceived,
    SessionExpired,
    SessionRefreshDue,
    TransactionTimedOut,
    TransportFailed,
)

from .pair import HOST, Pair, invite

TRANSPORTS = ["UDP", "TCP"]


def sides(pair: Pair, caller: str):
    """(caller core, callee core, caller name, callee name)."""
    if caller == "a":
        return pair.a, pair.b, "a", "b"
    return pair.b, pair.a, "b", "a"


def answer(pair: Pair, callee: str, status: int = 200):
    event = pair.take(callee, RequestReceived)
    core = pair.a if callee == "a" else pair.b
    core.respond(event.tx, 180, now=pair.now)
    core.respond(event.tx, status, now=pair.now, body=b"v=0\r\n", content_type="application/sdp")
    return event


def establish(pair: Pair, caller: str = "a"):
    ccore, rcore, cname, rname = sides(pair, caller)
    invite(pair, ccore, rcore)
    pair.pump()
    answer(pair, rname)
    pair.pump()
    return pair.take(cname, DialogConfirmed).dialog, pair.take(rname, DialogConfirmed).dialog


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("caller", ["a", "b"])
def test_basic_call_and_nothing_left_afterwards(transport, caller):
    pair = Pair(transport)
    ccore, _rcore, cname, rname = sides(pair, caller)
    uac, uas = establish(pair, caller)
    assert uac.role == "UAC" and uas.role == "UAS"
    assert uac.id.local_tag == uas.id.remote_tag and uac.id.remote_tag == uas.id.local_tag
    assert uac.state is DialogState.CONFIRMED and uas.state is DialogState.CONFIRMED
    assert len(pair.all(rname, AckReceived)) == 1
    for packet in (pair.sent(cname, "INVITE")[0], pair.sent(rname, "SIP/2.0 200")[0]):
        assert ", ".join(packet.message.headers.get_all("Allow")) == ccore.config.allow
    ccore.bye(uac, pair.now)
    pair.pump()
    assert pair.take(cname, DialogTerminated).reason == "local-bye"
    assert pair.take(rname, DialogTerminated).reason == "remote-bye"
    assert [p.first_line.split()[0] for p in pair.packets] == [
        "INVITE", "SIP/2.0", "SIP/2.0", "ACK", "BYE", "SIP/2.0",
    ]  # fmt: skip
    pair.run_out()
    pair.assert_clean()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_callee_hangs_up(transport):
    pair = Pair(transport)
    _uac, uas = establish(pair)
    pair.b.bye(uas, pair.now)
    pair.pump()
    bye = pair.sent("b", "BYE")[0].message
    assert bye.cseq.seq == 1  # the UAS's first request in the dialog
    assert pair.take("a", DialogTerminated).reason == "remote-bye"
    pair.run_out()
    pair.assert_clean()


def test_lost_200_is_retransmitted_and_acked_once():
    pair = Pair("UDP")
    invite(pair)
    pair.pump()
    pair.drop("b", "SIP/2.0 200")
    answer(pair, "b")
    pair.advance(0.4)
    assert not pair.all("a", DialogConfirmed)
    pair.advance(0.2)  # T1: the UAS core retransmits the 2xx (§13.3.1.4)
    assert pair.count("b", "SIP/2.0 200") == 2
    assert len(pair.all("a", DialogConfirmed)) == 1
    assert pair.count("a", "ACK") == 1
    assert len(pair.all("b", AckReceived)) == 1
    pair.advance(10)
    assert pair.count("b", "SIP/2.0 200") == 2  # ACK stopped the retransmissions


def test_lost_ack_makes_the_uas_retransmit_and_the_uac_re_ack():
    pair = Pair("UDP")
    invite(pair)
    pair.pump()
    pair.drop("a", "ACK", count=2)
    answer(pair, "b")
    pair.advance(5)
    assert times_of(pair.sent("b", "SIP/2.0 200")) == [0, 0.5, 1.5]
    assert pair.count("a", "ACK") == 3
    acks = pair.sent("a", "ACK")
    assert len({a.message.top_via.branch for a in acks}) == 1  # the same ACK re-sent
    assert len(pair.all("a", ResponseReceived)) == 2  # 180 + one 200: retransmissions hidden
    assert len(pair.all("b", AckReceived)) == 1


def times_of(packets):
    return [round(p.time, 3) for p in packets]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_no_ack_at_all_ends_the_call_with_bye_after_64_t1(transport):
    pair = Pair(transport)
    invite(pair)
    pair.pump()
    pair.drop_where(lambda p: p.first_line.startswith("ACK"))
    answer(pair, "b")
    pair.advance(31.9)
    assert not pair.sent("b", "BYE")
    pair.advance(0.2)
    retransmits = times_of(pair.sent("b", "SIP/2.0 200"))
    if transport == "UDP":
        assert retransmits == [0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    else:
        assert retransmits == [0]
    assert len(pair.sent("b", "BYE")) == 1
    assert pair.take("b", DialogTerminated).reason == "no-ack"
    pair.run_out()
    pair.assert_clean()


def test_2xx_retransmission_on_reliable_when_configured():
    pair = Pair("TCP", retransmit_2xx_on_reliable=True)
    invite(pair)
    pair.pump()
    pair.drop("a", "ACK")
    answer(pair, "b")
    pair.advance(1)
    assert pair.count("b", "SIP/2.0 200") == 2
    assert len(pair.all("b", AckReceived)) == 1


def test_callee_bye_before_ack_waits_for_the_ack():
    pair = Pair("UDP")
    invite(pair)
    pair.pump()
    pair.drop("a", "ACK")
    answer(pair, "b")
    pair.pump()
    uas = pair.take("b", DialogConfirmed).dialog
    assert pair.b.bye(uas, pair.now) is None  # §15: not before the ACK
    pair.pump()
    assert not pair.sent("b", "BYE")
    pair.advance(1)  # 2xx retransmitted, ACK arrives, BYE goes
    assert len(pair.sent("b", "BYE")) == 1
    assert pair.take("b", DialogTerminated).reason == "local-bye"
    pair.run_out()
    pair.assert_clean()


# ---------------------------------------------------------------- CANCEL


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_cancel_gets_200_and_the_invite_487(transport):
    pair = Pair(transport)
    tx = invite(pair)
    pair.pump()
    pair.b.respond(pair.take("b", RequestReceived).tx, 180, now=pair.now)
    pair.pump()
    pair.a.cancel(tx, pair.now)
    pair.pump()
    cancelled = pair.take("b", CancelReceived)
    assert cancelled.invite_tx.last_response.status == 487
    assert [p.first_line for p in pair.sent("b", "SIP/2.0")] == [
        "SIP/2.0 180 Ringing", "SIP/2.0 200 OK", "SIP/2.0 487 Request Terminated",
    ]  # fmt: skip
    r200 = pair.sent("b", "SIP/2.0 200")[0].message
    assert r200.cseq.method == "CANCEL"
    r487 = pair.sent("b", "SIP/2.0 487")[0].message
    assert r200.to.tag == r487.to.tag  # §9.2: the same To tag
    assert [e.response.status for e in pair.all("a", ResponseReceived)] == [180, 487]
    assert pair.take("a", DialogTerminated).reason == "rejected"  # the early dialog of the 180
    assert pair.take("b", DialogTerminated).reason == "rejected"
    pair.run_out()
    pair.assert_clean()


def test_cancel_before_any_provisional_waits_for_one():
    pair = Pair("UDP")
    tx = invite(pair)
    pair.a.cancel(tx, pair.now)
    pair.pump()
    assert not pair.sent("a", "CANCEL")  # §9.1
    pair.advance(0.25)  # 100 Trying at 200 ms releases it
    assert len(pair.sent("a", "CANCEL")) == 1
    assert [e.response.status for e in pair.all("a", ResponseReceived)][-1] == 487
    pair.run_out()
    pair.assert_clean()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_cancel_race_cancel_after_200(transport):
    pair = Pair(transport)
    tx = invite(pair)
    pair.pump()
    server_tx = pair.take("b", RequestReceived).tx
    pair.b.respond(server_tx, 180, now=pair.now)
    pair.pump()
    pair.b.respond(server_tx, 200, now=pair.now)  # the 200 is on the wire ...
    pair.a.cancel(tx, pair.now)  # ... while the caller gives up
    pair.pump()
    # the CANCEL found an answered INVITE: 200 to the CANCEL, no 487
    assert not pair.sent("b", "SIP/2.0 487") and not pair.all("b", CancelReceived)
    # the 2xx won: the caller ACKs and hangs up at once
    assert pair.count("a", "ACK") == 1 and pair.count("a", "BYE") == 1
    assert pair.take("a", DialogTerminated).reason == "cancelled"
    assert pair.take("b", DialogTerminated).reason == "remote-bye"
    pair.run_out()
    pair.assert_clean()


def test_cancel_matching_nothing_gets_481():
    pair = Pair("UDP")
    raw = (
        "CANCEL sip:b@127.0.0.1:5080 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKnothing\r\n"
        "From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: x\r\nCSeq: 1 CANCEL\r\n\r\n"
    )
    pair.b.receive_datagram(raw.encode(), pair.peer(pair.a), 0)
    pair.pump()
    assert pair.sent("b", "SIP/2.0 481")


def test_cancel_after_final_is_a_no_op():
    pair = Pair("UDP")
    tx = invite(pair)
    pair.pump()
    pair.b.respond(pair.take("b", RequestReceived).tx, 486, now=pair.now)
    pair.pump()
    pair.a.cancel(tx, pair.now)
    pair.pump()
    assert not pair.sent("a", "CANCEL")


# ---------------------------------------------------------------- UAS checks without the TU


def test_in_dialog_request_for_unknown_dialog_gets_481():
    pair = Pair("UDP")
    dest = pair.peer(pair.b)
    req = pair.a.make_request("INFO", "sip:b@127.0.0.1:5080", from_="<sip:a@h>", to="<sip:b@h>;tag=gone")
    pair.a.send_request(req, dest, 0)
    pair.pump()
    assert pair.take("a", ResponseReceived).response.status == 481
    assert not pair.all("b", RequestReceived)


def test_bye_out_of_dialog_gets_481():
    pair = Pair("UDP")
    req = pair.a.make_request("BYE", "sip:b@127.0.0.1:5080", from_="<sip:a@h>", to="<sip:b@h>")
    pair.a.send_request(req, pair.peer(pair.b), 0)
    pair.pump()
    assert pair.take("a", ResponseReceived).response.status == 481


def test_unsupported_require_gets_420():
    pair = Pair("UDP")
    invite(pair, headers=[("Require", "100rel, timer")])
    pair.pump()
    response = pair.take("a", ResponseReceived).response
    assert response.status == 420
    assert response.headers.get("Unsupported") == "100rel"
    assert not pair.all("b", RequestReceived)


def test_session_interval_too_small_gets_422_with_min_se():
    pair = Pair("UDP")
    invite(pair, headers=[("Session-Expires", "30"), ("Supported", "timer")])
    pair.pump()
    response = pair.take("a", ResponseReceived).response
    assert response.status == 422
    assert response.headers.get("Min-SE") == "90"


def test_make_422_helper():
    pair = Pair("UDP")
    invite(pair)
    pair.pump()
    request = pair.take("b", RequestReceived).request
    response = pair.b.make_422(request, 1800)
    assert response.status == 422 and response.headers.get("Min-SE") == "1800"


@pytest.mark.parametrize("refresher", ["uac", "uas"])
def test_session_timer_refresh_and_expiry_events(refresher):
    pair = Pair("UDP")
    invite(pair, headers=[("Session-Expires", f"1800;refresher={refresher}"), ("Supported", "timer")])
    pair.pump()
    answer(pair, "b")
    pair.pump()
    r200 = pair.sent("b", "SIP/2.0 200")[0].message
    assert r200.headers.get("Session-Expires") == f"1800;refresher={refresher}"
    assert r200.headers.get("Require") == "timer"
    uac = pair.take("a", DialogConfirmed).dialog
    uas = pair.take("b", DialogConfirmed).dialog
    assert uac.session_expires == uas.session_expires == 1800
    assert uac.refresher == uas.refresher == refresher
    assert uac.min_se == 90
    refresher_side, other = ("a", "b") if refresher == "uac" else ("b", "a")
    pair.advance(899)
    assert not pair.all(refresher_side, SessionRefreshDue)
    pair.advance(2)
    assert len(pair.all(refresher_side, SessionRefreshDue)) == 1
    pair.advance(1800 - 32 - 901 - 1)
    assert not pair.all(other, SessionExpired)
    pair.advance(2)
    assert len(pair.all(other, SessionExpired)) == 1


def test_session_refresh_by_reinvite_rearms_the_timer():
    pair = Pair("UDP")
    invite(pair, headers=[("Session-Expires", "120;refresher=uac"), ("Supported", "timer")])
    pair.pump()
    answer(pair, "b")
    pair.pump()
    uac = pair.take("a", DialogConfirmed).dialog
    pair.advance(61)
    assert pair.all("a", SessionRefreshDue)
    pair.a.request(
        uac, "UPDATE", pair.now, headers=[("Session-Expires", "120;refresher=uac"), ("Supported", "timer")]
    )
    pair.pump()
    pair.b.respond(pair.take("b", RequestReceived).tx, 200, now=pair.now)
    pair.advance(50)
    assert not pair.all("b", SessionExpired)  # the refresh moved the expiry
    pair.advance(60)
    assert len(pair.all("a", SessionRefreshDue)) == 2


# ---------------------------------------------------------------- bad input, transports


def test_garbage_datagram_is_discarded_and_keepalives_ignored():
    pair = Pair("UDP")
    pair.b.receive_datagram(b"\r\n\r\n", pair.peer(pair.a), 0)
    assert pair.b.next_event() is None
    pair.b.receive_datagram(b"HELLO\r\n\r\n", pair.peer(pair.a), 0)
    assert isinstance(pair.b.next_event(), MessageDiscarded)
    assert pair.b.data_to_send() == []


def test_lazily_detected_bad_header_gets_400_on_its_transaction():
    pair = Pair("UDP")
    invite(pair, headers=[("Session-Expires", ";refresher=uac")])
    pair.pump()
    assert pair.take("a", ResponseReceived).response.status == 400
    assert pair.all("b", MessageDiscarded) and not pair.all("b", RequestReceived)
    pair.run_out()
    pair.assert_clean()


def test_unparseable_cseq_is_discarded():
    pair = Pair("UDP")
    raw = (
        "OPTIONS sip:b@127.0.0.1:5080 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx\r\n"
        "From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: x\r\nCSeq: one OPTIONS\r\n\r\n"
    )
    pair.b.receive_datagram(raw.encode(), pair.peer(pair.a), 0)
    assert isinstance(pair.b.next_event(), MessageDiscarded)
    assert pair.b.transaction_count == 0


def test_stream_parse_error_is_reported():
    pair = Pair("TCP")
    pair.b.receive_parse_error(SipParseError("bad framing"), pair.peer(pair.a), 0)
    assert isinstance(pair.b.next_event(), MessageDiscarded)


def test_connection_lost_fails_client_transactions():
    pair = Pair("TCP")
    pair.drop_where(lambda p: True)
    tx = invite(pair)
    pair.pump()
    pair.a.connection_lost(1, pair.now)
    pair.pump()
    assert pair.take("a", TransportFailed).tx is tx
    pair.assert_clean()


def test_transport_error_fails_client_transactions_to_that_peer():
    pair = Pair("UDP")
    pair.drop_where(lambda p: True)
    tx = invite(pair)
    pair.a.transport_error(Peer("UDP", HOST, 5080), pair.now)
    pair.pump()
    assert pair.take("a", TransportFailed).tx is tx


def test_responses_follow_via_received_and_rport():
    core = SipCore(CoreConfig(endpoints=(LocalEndpoint("UDP", HOST, 5080),)), random.Random(1))
    raw = (
        "OPTIONS sip:b@127.0.0.1:5080 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKnat;rport\r\n"
        "From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\n\r\n"
    )
    core.receive_datagram(raw.encode(), Peer("UDP", "127.0.0.1", 40000), 0)
    event = core.next_event()
    assert isinstance(event, RequestReceived)
    core.respond(event.tx, 200, now=0)
    ((data, dest),) = core.data_to_send()
    assert dest == Peer("UDP", "127.0.0.1", 40000)  # RFC 3581: source address and port
    assert b"received=127.0.0.1;rport=40000" in data or b"rport=40000;received=127.0.0.1" in data


def test_auto_ack_off_lets_the_tu_send_the_ack_with_a_body():
    pair = Pair("UDP", auto_ack_2xx=False)
    invite(pair)
    pair.pump()
    answer(pair, "b")
    pair.pump()
    uac = pair.take("a", DialogConfirmed).dialog
    assert not pair.sent("a", "ACK")
    pair.a.ack(uac, pair.now, body=b"v=0\r\n", content_type="application/sdp")
    pair.pump()
    ack = pair.take("b", AckReceived).request
    assert ack.body == b"v=0\r\n"
    with pytest.raises(TransactionError):
        pair.a.ack(uac, pair.now)


def test_ack_and_cancel_have_their_own_api():
    pair = Pair("UDP")
    req = pair.a.make_request("ACK", "sip:b@h", from_="<sip:a@h>", to="<sip:b@h>")
    with pytest.raises(TransactionError):
        pair.a.send_request(req, pair.peer(pair.b), 0)


def test_sending_on_a_transport_without_endpoint_is_an_error():
    pair = Pair("UDP")
    req = pair.a.make_request("OPTIONS", "sip:b@h", from_="<sip:a@h>", to="<sip:b@h>")
    with pytest.raises(TransactionError):
        pair.a.send_request(req, Peer("TLS", HOST, 5081), 0)


def test_contact_is_scheme_consistent_per_transport():
    eps = (
        LocalEndpoint("UDP", HOST, 5060),
        LocalEndpoint("TCP", HOST, 5060),
        LocalEndpoint("TLS", HOST, 5061, advertise="device.example.com"),
    )
    core = SipCore(CoreConfig(endpoints=eps), random.Random(1))
    assert core.contact("UDP") == "<sip:takeback@127.0.0.1:5060>"
    assert core.contact("TCP") == "<sip:takeback@127.0.0.1:5060;transport=tcp>"
    assert core.contact("TLS") == "<sips:takeback@device.example.com:5061>"


# ---------------------------------------------------------------- memory


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_many_calls_leave_no_transaction_dialog_or_timer(transport):
    pair = Pair(transport)
    for i in range(20):
        caller = "a" if i % 2 else "b"
        ccore, _rcore, _cname, _ = sides(pair, caller)
        if i % 5 == 4 and transport == "UDP":
            pair.drop("a" if caller == "b" else "b", "SIP/2.0 200")  # some lost 200s too
        tx = invite(pair, ccore, _rcore)
        pair.pump()
        answer(pair, "b" if caller == "a" else "a")
        pair.advance(1)
        uac = tx.dialog
        assert uac.state is DialogState.CONFIRMED
        ccore.bye(uac, pair.now)
        pair.advance(0.01)
    pair.run_out()
    pair.assert_clean()
    assert len(pair.all("a", DialogTerminated)) == len(pair.all("a", DialogCreated)) == 20


def test_rejected_and_timed_out_calls_leave_nothing():
    pair = Pair("UDP")
    invite(pair)
    pair.pump()
    pair.b.respond(pair.take("b", RequestReceived).tx, 180, now=pair.now)
    pair.b.respond(pair.all("b", RequestReceived)[0].tx, 486, now=pair.now)
    tx = invite(pair)
    pair.drop_where(lambda p: p.first_line.startswith("INVITE") and p.message.call_id == tx.request.call_id)
    pair.run_out()
    assert pair.all("a", TransactionTimedOut)
    pair.assert_clean()


@pytest.mark.parametrize("method", ["REFER", "INFO", "NOTIFY", "BYE", "X-CUSTOM"])
def test_typed_via_and_cseq_noted_on_built_requests_are_what_parsing_gives(method):
    """core.create_request caches the top Via and CSeq it wrote; they must equal a fresh parse."""
    from takeback.sip import parse_message
    from takeback.sip.headers import parse_cseq, parse_via

    from .test_dialog import call

    pair = Pair("UDP")
    uac, _uas = call(pair)
    request = pair.a.create_request(uac, method, headers=[("Refer-To", "<sip:x@y>")])
    pair.a.prepare_request(request, uac.next_hop())  # adds User-Agent: the noted values survive it
    headers = request.headers
    assert request.top_via == parse_via(headers.get("Via"))
    assert request.cseq == parse_cseq(headers.get("CSeq"))
    assert parse_message(bytes(request)).top_via == request.top_via
