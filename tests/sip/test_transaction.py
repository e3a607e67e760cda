"""RFC 3261 §17 transaction state machines: every timer, retransmission counts, matching, absorption."""

from __future__ import annotations

import pytest

from takeback.sip import parse_message
from takeback.sip._tx_tables import INITIAL, TABLES, TxAction, TxInput, TxState
from takeback.sip.core import Peer
from takeback.sip.events import (
    MessageDiscarded,
    RequestReceived,
    ResponseReceived,
    TransactionTimedOut,
)
from takeback.sip.transaction import server_key

from .pair import Pair, invite

TRANSPORTS = ["UDP", "TCP"]


def options(pair: Pair, sender=None, receiver=None):
    sender = sender or pair.a
    receiver = receiver or pair.b
    dest = pair.peer(receiver)
    req = sender.make_request("OPTIONS", f"sip:{dest.host}:{dest.port}", from_="<sip:a@x>", to="<sip:b@y>")
    return sender.send_request(req, dest, pair.now)


def times(packets):
    return [round(p.time, 3) for p in packets]


# ---------------------------------------------------------------- tables are data, and sane


def test_tables_only_reach_known_states_and_every_state_but_terminated_has_an_exit():
    for kind, table in TABLES.items():
        reachable = {INITIAL[kind][0]} | {new for new, _ in table.values()}
        for state in reachable - {TxState.TERMINATED}:
            assert any(src is state for src, _ in table), (kind, state)
        for (_state, _inp), (_new, actions) in table.items():
            assert all(isinstance(a, TxAction) for a in actions)


def test_only_client_tables_take_responses_only_server_tables_take_tu_responses():
    client = {TxInput.PROVISIONAL, TxInput.SUCCESS, TxInput.FAILURE}
    server = {TxInput.TU_PROVISIONAL, TxInput.TU_SUCCESS, TxInput.TU_FAILURE, TxInput.REQUEST}
    for kind, table in TABLES.items():
        inputs = {inp for _s, inp in table}
        if kind.value.endswith("CT"):
            assert not inputs & server
        else:
            assert not inputs & client


# ---------------------------------------------------------------- INVITE client: Timers A, B, D, M, C


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_invite_client_timer_a_and_b(transport):
    pair = Pair(transport)
    pair.drop_where(lambda p: p.sender == "a")  # black hole
    tx = invite(pair)
    pair.advance(40)
    sent = pair.sent("a", "INVITE")
    if transport == "UDP":
        # Timer A doubles without a cap: 7 transmissions before Timer B (64*T1 = 32 s)
        assert times(sent) == [0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    else:
        assert times(sent) == [0]  # no Timer A on a reliable transport
    (timeout,) = pair.all("a", TransactionTimedOut)
    assert timeout.tx is tx
    assert tx.state is TxState.TERMINATED
    pair.assert_clean()


def test_invite_client_timer_b_fires_at_64_t1():
    pair = Pair("UDP")
    pair.drop_where(lambda p: True)
    invite(pair)
    pair.advance(31.99)
    assert not pair.all("a", TransactionTimedOut)
    pair.advance(0.02)
    assert pair.all("a", TransactionTimedOut)


def test_invite_client_custom_t1_scales_every_timer():
    pair = Pair("UDP", t1=0.1, t2=1.0)
    pair.drop_where(lambda p: True)
    invite(pair)
    pair.advance(7)
    assert times(pair.sent("a", "INVITE")) == [0, 0.1, 0.3, 0.7, 1.5, 3.1, 6.3]
    assert pair.all("a", TransactionTimedOut)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_invite_client_timer_d_absorbs_retransmitted_final_responses(transport):
    pair = Pair(transport)
    tx = invite(pair)
    pair.pump()
    server_tx = pair.take("b", RequestReceived).tx
    pair.b.respond(server_tx, 486, now=pair.now)
    pair.drop("a", "ACK", count=2)  # first two ACKs lost: b retransmits 486 (Timer G), a re-ACKs
    pair.advance(2)
    assert len(pair.all("a", ResponseReceived)) == 1  # the TU saw the 486 once
    if transport == "UDP":
        assert pair.count("b", "SIP/2.0 486") == 3
        assert pair.count("a", "ACK") == 3
        assert tx.state is TxState.COMPLETED
        pair.advance(29.4)  # Timer D = 32 s after the first 486 (at t=0)
        assert tx.state is TxState.COMPLETED
        pair.advance(0.7)
    else:
        assert pair.count("b", "SIP/2.0 486") == 1
    assert tx.state is TxState.TERMINATED


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_ack_for_non_2xx_is_built_by_the_transaction(transport):
    pair = Pair(transport)
    tx = invite(pair)
    pair.pump()
    pair.b.respond(pair.take("b", RequestReceived).tx, 404, now=pair.now)
    pair.pump()
    (ack,) = pair.sent("a", "ACK")
    msg = ack.message
    inv = tx.request
    assert msg.uri == inv.uri
    assert msg.top_via.branch == inv.top_via.branch  # same branch: hop-by-hop ACK (§17.1.1.3)
    assert msg.cseq.seq == inv.cseq.seq and msg.cseq.method == "ACK"
    assert msg.to.tag is not None and msg.from_.tag == inv.from_.tag
    pair.run_out()
    pair.assert_clean()


def test_invite_client_accepted_timer_m_passes_2xx_retransmissions_to_dialog_layer():
    pair = Pair("UDP")
    tx = invite(pair)
    pair.pump()
    pair.b.respond(pair.take("b", RequestReceived).tx, 200, now=pair.now)
    pair.pump()
    assert tx.state is TxState.ACCEPTED
    pair.advance(31.9)
    assert tx.state is TxState.ACCEPTED
    pair.advance(0.2)
    assert tx.state is TxState.TERMINATED


def test_timer_c_cancels_an_invite_stuck_in_proceeding():
    pair = Pair("UDP", timer_c=10.0)
    tx = invite(pair)
    pair.pump()
    pair.b.respond(pair.take("b", RequestReceived).tx, 180, now=pair.now)
    pair.advance(9.9)
    assert not pair.sent("a", "CANCEL")
    pair.advance(0.2)
    assert len(pair.sent("a", "CANCEL")) == 1
    statuses = [e.response.status for e in pair.all("a", ResponseReceived)]
    assert statuses == [180, 487]
    assert tx.state is TxState.COMPLETED


def test_timer_c_then_timer_b_when_the_peer_is_gone():
    pair = Pair("UDP", timer_c=10.0)
    tx = invite(pair)
    pair.pump()
    pair.b.respond(pair.take("b", RequestReceived).tx, 180, now=pair.now)
    pair.pump()
    pair.drop_where(lambda p: p.sender == "a")
    pair.advance(10 + 32 + 1)
    assert pair.all("a", TransactionTimedOut)[0].tx is tx
    assert tx.state is TxState.TERMINATED


# ---------------------------------------------------------------- non-INVITE client: Timers E, F, K


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_non_invite_client_timer_e_and_f(transport):
    pair = Pair(transport)
    pair.drop_where(lambda p: p.sender == "a")
    tx = options(pair)
    pair.advance(40)
    sent = times(pair.sent("a", "OPTIONS"))
    if transport == "UDP":
        # E doubles up to T2 = 4 s: 0, .5, 1.5, 3.5, 7.5, 11.5 ... 31.5
        assert sent == [0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    else:
        assert sent == [0]
    assert pair.all("a", TransactionTimedOut)[0].tx is tx
    pair.assert_clean()


def test_non_invite_client_timer_e_is_t2_in_proceeding():
    pair = Pair("UDP")
    options(pair)
    pair.pump()
    server_tx = pair.take("b", RequestReceived).tx
    pair.b.respond(server_tx, 100, now=pair.now)
    pair.pump()
    pair.drop_where(lambda p: p.sender == "b")
    pair.advance(40)
    assert times(pair.sent("a", "OPTIONS")) == [0, 0.5, 4.5, 8.5, 12.5, 16.5, 20.5, 24.5, 28.5]
    assert len(pair.all("b", RequestReceived)) == 1


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_non_invite_client_timer_k(transport):
    pair = Pair(transport)
    tx = options(pair)
    pair.pump()
    pair.b.respond(pair.take("b", RequestReceived).tx, 200, now=pair.now)
    pair.pump()
    if transport == "UDP":
        assert tx.state is TxState.COMPLETED
        pair.advance(4.9)
        assert tx.state is TxState.COMPLETED  # Timer K = T4 = 5 s
        pair.advance(0.2)
    assert tx.state is TxState.TERMINATED


def test_non_invite_client_absorbs_retransmitted_final():
    pair = Pair("UDP")
    options(pair)
    pair.drop("b", "SIP/2.0 200")  # first 200 lost; the retransmitted OPTIONS gets it again
    pair.pump()
    pair.b.respond(pair.take("b", RequestReceived).tx, 200, now=pair.now)
    pair.advance(2)
    assert pair.count("b", "SIP/2.0 200") == 2
    assert len(pair.all("a", ResponseReceived)) == 1


# ---------------------------------------------------------------- INVITE server: 100 Trying, G, H, I, L


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_100_trying_after_200_ms(transport):
    pair = Pair(transport)
    invite(pair)
    pair.advance(0.19)
    assert not pair.sent("b", "SIP/2.0 100")
    pair.advance(0.02)
    assert len(pair.sent("b", "SIP/2.0 100")) == 1
    assert pair.sent("b", "SIP/2.0 100")[0].message.to.tag is None


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_no_100_trying_when_the_tu_answers_first(transport):
    pair = Pair(transport)
    invite(pair)
    pair.advance(0.1)
    pair.b.respond(pair.take("b", RequestReceived).tx, 180, now=pair.now)
    pair.advance(5)
    assert not pair.sent("b", "SIP/2.0 100")


def test_retransmitted_invite_is_absorbed_never_a_second_call():
    pair = Pair("UDP")
    pair.drop("b", "SIP/2.0 100", count=10)
    invite(pair)
    pair.advance(4)  # a retransmits at .5, 1.5, 3.5
    assert pair.count("a", "INVITE") == 4
    assert len(pair.all("b", RequestReceived)) == 1
    assert pair.count("b", "SIP/2.0 100") == 4  # the 100 once, then re-sent per retransmission
    server_tx = pair.take("b", RequestReceived).tx
    pair.b.respond(server_tx, 200, now=pair.now)
    pair.advance(1)
    pair.b.receive_datagram(pair.sent("a", "INVITE")[0].data, pair.peer(pair.a), pair.now)
    pair.pump()
    assert len(pair.all("b", RequestReceived)) == 1  # Accepted absorbs it (RFC 6026 §7.1)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_invite_server_timer_h_without_ack(transport):
    pair = Pair(transport)
    invite(pair)
    pair.pump()
    server_tx = pair.take("b", RequestReceived).tx
    pair.drop_where(lambda p: p.first_line.startswith("ACK"))
    pair.b.respond(server_tx, 486, now=pair.now)
    pair.advance(40)
    sent = times(pair.sent("b", "SIP/2.0 486"))
    if transport == "UDP":
        assert sent == [0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]  # Timer G
    else:
        assert sent == [0]
    assert [e.tx for e in pair.all("b", TransactionTimedOut)] == [server_tx]  # Timer H = 64*T1


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_invite_server_timer_i_after_ack(transport):
    pair = Pair(transport)
    invite(pair)
    pair.pump()
    server_tx = pair.take("b", RequestReceived).tx
    pair.b.respond(server_tx, 603, now=pair.now)
    pair.pump()
    if transport == "UDP":
        assert server_tx.state is TxState.CONFIRMED
        pair.advance(4.9)  # Timer I = T4
        assert server_tx.state is TxState.CONFIRMED
        pair.advance(0.2)
    assert server_tx.state is TxState.TERMINATED


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_invite_server_timer_l_after_2xx(transport):
    pair = Pair(transport)
    invite(pair)
    pair.pump()
    server_tx = pair.take("b", RequestReceived).tx
    pair.b.respond(server_tx, 200, now=pair.now)
    pair.advance(31.9)
    assert server_tx.state is TxState.ACCEPTED
    pair.advance(0.2)
    assert server_tx.state is TxState.TERMINATED


# ---------------------------------------------------------------- non-INVITE server: Timer J


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_non_invite_server_timer_j(transport):
    pair = Pair(transport)
    options(pair)
    pair.pump()
    server_tx = pair.take("b", RequestReceived).tx
    pair.b.respond(server_tx, 200, now=pair.now)
    pair.pump()
    if transport == "UDP":
        pair.advance(31.9)
        assert server_tx.state is TxState.COMPLETED
        pair.advance(0.2)
    assert server_tx.state is TxState.TERMINATED


def test_non_invite_server_absorbs_in_trying_and_resends_final_in_completed():
    pair = Pair("UDP")
    options(pair)
    pair.pump()
    server_tx = pair.take("b", RequestReceived).tx
    pair.advance(0.6)  # one retransmission while the TU thinks: absorbed, nothing sent
    assert pair.count("a", "OPTIONS") == 2 and not pair.sent("b", "SIP/2.0")
    pair.drop("b", "SIP/2.0 200")
    pair.b.respond(server_tx, 200, now=pair.now)
    pair.advance(1.5)
    assert pair.count("b", "SIP/2.0 200") == 2
    assert len(pair.all("b", RequestReceived)) == 1


def test_tu_cannot_send_two_final_responses():
    from takeback.sip import TransactionError

    pair = Pair("UDP")
    options(pair)
    pair.pump()
    server_tx = pair.take("b", RequestReceived).tx
    pair.b.respond(server_tx, 200, now=pair.now)
    with pytest.raises(TransactionError):
        pair.b.respond(server_tx, 500, now=pair.now)


# ---------------------------------------------------------------- matching (§17.1.3, §17.2.3)


def test_response_matching_nothing_is_discarded():
    pair = Pair("UDP")
    options(pair)
    pair.pump()
    response = pair.b.make_response(pair.take("b", RequestReceived).request, 200)
    response.headers.set("Via", "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKother")
    pair.a.receive_message(response, pair.peer(pair.b), pair.now)
    pair.pump()
    assert pair.all("a", MessageDiscarded)
    assert not pair.all("a", ResponseReceived)


def test_response_with_other_cseq_method_does_not_match():
    pair = Pair("UDP")
    tx = options(pair)
    pair.pump()
    response = pair.b.make_response(pair.take("b", RequestReceived).request, 200)
    response.headers.set("CSeq", f"{tx.request.cseq.seq} INFO")
    pair.a.receive_message(response, pair.peer(pair.b), pair.now)
    pair.pump()
    assert not pair.all("a", ResponseReceived)


def test_server_key_folds_ack_onto_invite_and_keeps_cancel_apart():
    base = (
        "{m} sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP Host.Example:5060;branch=z9hG4bKabc\r\n"
        "From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 {m}\r\n\r\n"
    )
    keys = {m: server_key(parse_message(base.format(m=m).encode())) for m in ("INVITE", "ACK", "CANCEL")}
    assert keys["INVITE"] == keys["ACK"] == ("z9hG4bKabc", "host.example", 5060, "INVITE")
    assert keys["CANCEL"] == ("z9hG4bKabc", "host.example", 5060, "CANCEL")
    other_sent_by = base.replace("Host.Example:5060", "other:5060").format(m="INVITE")
    assert server_key(parse_message(other_sent_by.encode())) != keys["INVITE"]


def test_rfc2543_fallback_matching_absorbs_retransmissions():
    pair = Pair("UDP")
    raw = (
        b"OPTIONS sip:b@127.0.0.1:5080 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=old-style-1\r\n"
        b"From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: legacy\r\nCSeq: 7 OPTIONS\r\n\r\n"
    )
    src = pair.peer(pair.a)
    pair.b.receive_datagram(raw, src, 0.0)
    pair.b.receive_datagram(raw, src, 0.1)
    pair.pump()
    assert len(pair.all("b", RequestReceived)) == 1
    key = pair.all("b", RequestReceived)[0].tx.key
    assert key[0] == "2543"


def test_retransmission_from_another_sent_by_is_a_new_transaction():
    pair = Pair("UDP")
    raw = (
        "OPTIONS sip:b@127.0.0.1:5080 SIP/2.0\r\nVia: SIP/2.0/UDP {h}:5070;branch=z9hG4bKsame\r\n"
        "From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: x\r\nCSeq: 7 OPTIONS\r\n\r\n"
    )
    src = Peer("UDP", "127.0.0.1", 5070)
    pair.b.receive_datagram(raw.format(h="127.0.0.1").encode(), src, 0.0)
    pair.b.receive_datagram(raw.format(h="127.0.0.2").encode(), src, 0.0)
    pair.pump()
    assert len(pair.all("b", RequestReceived)) == 2


def test_cancelled_invite_without_final_response_ends_after_64_t1():
    """§9.1: the UAS answers the CANCEL but never the INVITE."""
    pair = Pair("UDP")
    tx = invite(pair)
    pair.pump()
    pair.b.respond(pair.take("b", RequestReceived).tx, 180, now=pair.now)
    pair.pump()
    pair.drop_where(lambda p: p.first_line.startswith("SIP/2.0 487"))
    pair.a.cancel(tx, pair.now)
    pair.advance(31.9)
    assert tx.state is TxState.PROCEEDING
    pair.advance(0.2)
    assert pair.all("a", TransactionTimedOut)[0].tx is tx


def test_plans_run_every_table_action_in_table_order():
    """The regrouped plans (clear, others, pass, starts) replay each table entry's actions in order."""
    from takeback.sip._tx_tables import START_TIMER
    from takeback.sip.transaction import _INITIAL_PLANS, _PLANS

    def replay(plan):
        clear, others, _passed, starts = plan
        inverse = {timer: action for action, timer in START_TIMER.items()}
        return (TxAction.CLEAR_TIMERS,) * clear + others + tuple(inverse[t] for t in starts)

    for kind, table in TABLES.items():
        for key, (new_state, actions) in table.items():
            plan_state, plan = _PLANS[kind][key]
            assert plan_state is new_state
            assert replay(plan) == tuple(a for a in actions if a is not TxAction.PASS)
            assert plan[2] == (TxAction.PASS in actions)
        assert replay(_INITIAL_PLANS[kind]) == INITIAL[kind][1]
