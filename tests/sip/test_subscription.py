"""REFER and its implicit subscription (RFC 3515, RFC 6665, RFC 5057), both roles, UDP and TCP."""

from __future__ import annotations

import pytest

from takeback.sip import TransactionError, parse_message
from takeback.sip.dialog import DialogState
from takeback.sip.events import (
    DialogTerminated,
    ProtocolWarning,
    ReferAccepted,
    ReferCompleted,
    ReferFailed,
    ReferProgress,
    ReferReceived,
    RequestReceived,
    ResponseReceived,
)
from takeback.sip.subscription import SubscriptionState, read_notify, sipfrag_status

from .pair import Pair, invite

REFER_TO = "<sip:+33456456456@localhost?User-to-User=0054686973%3Bencoding%3Dhex>"


def setup_call(transport="UDP", referrer="uas", **config):
    """An established call: (pair, referrer name, core, dialog, notifier name, core, dialog)."""
    pair = Pair(transport, **config)
    tx = invite(pair)
    pair.pump()
    event = pair.take("b", RequestReceived)
    pair.b.respond(event.tx, 200, now=pair.now)
    pair.pump()
    uac, uas = tx.dialog, event.tx.dialog
    if referrer == "uas":
        return pair, "b", pair.b, uas, "a", pair.a, uac
    return pair, "a", pair.a, uac, "b", pair.b, uas


def notifies(pair, sender):
    return [p.message for p in pair.sent(sender, "NOTIFY")]


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
@pytest.mark.parametrize("referrer", ["uas", "uac"])
def test_refer_round_trip_with_notify_100_then_200(transport, referrer):
    pair, rname, rcore, rdialog, nname, ncore, ndialog = setup_call(transport, referrer)
    sub = rcore.refer(rdialog, REFER_TO, pair.now)
    pair.pump()
    received = pair.take(nname, ReferReceived)
    assert received.dialog is ndialog and received.notifier.refer_to == REFER_TO
    refer = received.request
    assert refer.headers.get("Refer-To") == REFER_TO  # byte for byte, escaping untouched
    assert refer.contact is not None  # RFC 3515 §2.4.1 needs a Contact
    ncore.accept_refer(received.notifier, pair.now)
    pair.pump()
    assert pair.take(rname, ReferAccepted).response.status == 202
    progress = pair.take(rname, ReferProgress)
    assert (progress.status, progress.reason) == (100, "Trying")
    first = notifies(pair, nname)[0]
    assert first.headers.get("Event") == f"refer;id={sub.id}"
    assert first.headers.get("Subscription-State") == "active;expires=60"
    assert first.headers.get("Content-Type") == "message/sipfrag;version=2.0"
    assert first.body == b"SIP/2.0 100 Trying\r\n"
    pair.advance(2)
    ncore.notify_refer(received.notifier, 200, "OK", pair.now)
    pair.pump()
    done = pair.take(rname, ReferCompleted)
    assert done.subscription is sub and done.status == 200
    final = notifies(pair, nname)[-1]
    assert final.headers.get("Subscription-State") == "terminated;reason=noresource"
    assert [p.first_line for p in pair.sent(rname, "SIP/2.0")][-2:] == ["SIP/2.0 200 OK"] * 2
    # the subscription ended; the INVITE dialog did not (RFC 5057)
    assert sub.state is SubscriptionState.TERMINATED and not rdialog.subscriptions
    assert rdialog.state is DialogState.CONFIRMED and ndialog.state is DialogState.CONFIRMED
    assert not pair.all(rname, ReferFailed) and not pair.all(rname, DialogTerminated)
    rcore.bye(rdialog, pair.now)  # RFC 5589 §6.1: the transferor hangs up
    pair.run_out()
    pair.assert_clean()


def test_refer_cseq_is_the_subscription_id_and_increments():
    pair, _r, rcore, rdialog, nname, ncore, _nd = setup_call()
    first = rcore.refer(rdialog, REFER_TO, pair.now)
    second = rcore.refer(rdialog, "<sip:+1@localhost>", pair.now)
    assert (first.id, second.id) == ("1", "2")
    pair.pump()
    n1, n2 = (e.notifier for e in pair.all(nname, ReferReceived))
    ncore.accept_refer(n2, pair.now, notify_trying=False)
    ncore.accept_refer(n1, pair.now, notify_trying=False)
    ncore.notify_refer(n2, 486, "Busy Here", pair.now)
    ncore.notify_refer(n1, 200, "OK", pair.now)
    pair.pump()
    assert [(e.subscription.id, e.status) for e in pair.all("b", ReferFailed)] == [("2", 486)]
    assert [(e.subscription.id, e.status) for e in pair.all("b", ReferCompleted)] == [("1", 200)]


def test_refer_rejected_403_is_a_failure_and_the_call_stays():
    pair, rname, rcore, rdialog, nname, ncore, _nd = setup_call()
    sub = rcore.refer(rdialog, REFER_TO, pair.now)
    pair.pump()
    ncore.reject_refer(pair.take(nname, ReferReceived).notifier, 403, pair.now)
    pair.pump()
    failed = pair.take(rname, ReferFailed)
    assert (failed.subscription, failed.status) == (sub, 403)
    assert not pair.all(rname, ReferAccepted)
    assert rdialog.state is DialogState.CONFIRMED and not rdialog.subscriptions


@pytest.mark.parametrize("status", [401, 481, 603])
def test_direct_error_responses_to_refer_are_failures(status):
    pair, rname, rcore, rdialog, nname, ncore, _nd = setup_call()
    rcore.refer(rdialog, REFER_TO, pair.now)
    pair.pump()
    ncore.reject_refer(pair.take(nname, ReferReceived).notifier, status, pair.now)
    pair.pump()
    assert pair.take(rname, ReferFailed).status == status
    assert rdialog.state is DialogState.CONFIRMED  # a 481 to REFER ends only the refer usage


def test_notify_404_sipfrag_is_a_failure_and_the_call_stays():
    pair, rname, rcore, rdialog, nname, ncore, _nd = setup_call()
    rcore.refer(rdialog, REFER_TO, pair.now)
    pair.pump()
    notifier = pair.take(nname, ReferReceived).notifier
    ncore.accept_refer(notifier, pair.now)
    ncore.notify_refer(notifier, 404, "Not Found", pair.now)
    pair.pump()
    assert pair.take(rname, ReferAccepted)  # the 202 is not the outcome ...
    failed = pair.take(rname, ReferFailed)  # ... the terminal NOTIFY is
    assert (failed.status, failed.reason) == (404, "Not Found")
    assert not pair.all(rname, ReferCompleted)
    assert rdialog.state is DialogState.CONFIRMED


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
def test_refer_times_out_without_terminal_notify(transport):
    pair, rname, rcore, rdialog, nname, ncore, _nd = setup_call(transport, refer_timeout=20.0)
    sub = rcore.refer(rdialog, REFER_TO, pair.now)
    pair.pump()
    notifier = pair.take(nname, ReferReceived).notifier
    ncore.accept_refer(notifier, pair.now, expires=300)
    pair.advance(19.9)
    assert not pair.all(rname, ReferFailed)
    pair.advance(0.2)
    failed = pair.take(rname, ReferFailed)
    assert (failed.subscription, failed.status, failed.reason) == (sub, None, "timeout")
    # the late final NOTIFY now meets no subscription: 481, which ends the notifier too
    ncore.notify_refer(notifier, 200, "OK", pair.now)
    pair.pump()
    assert pair.sent(rname, "SIP/2.0 481")
    assert rdialog.state is DialogState.CONFIRMED
    assert len(pair.all(rname, ReferFailed)) == 1 and not pair.all(rname, ReferCompleted)


def test_refer_transaction_timeout_is_a_408_failure():
    pair, rname, rcore, rdialog, *_ = setup_call()
    pair.drop_where(lambda p: p.first_line.startswith("REFER"))
    rcore.refer(rdialog, REFER_TO, pair.now)
    pair.advance(40)
    assert pair.take(rname, ReferFailed).status == 408
    assert rdialog.state is DialogState.CONFIRMED  # RFC 5057: only the refer usage failed


def test_notify_after_bye_gets_481_when_no_subscription_is_left():
    pair, rname, rcore, rdialog, nname, ncore, ndialog = setup_call()
    rcore.refer(rdialog, REFER_TO, pair.now)
    pair.pump()
    notifier = pair.take(nname, ReferReceived).notifier
    ncore.accept_refer(notifier, pair.now)
    ncore.notify_refer(notifier, 200, "OK", pair.now)
    pair.pump()
    rcore.bye(rdialog, pair.now)
    pair.pump()
    stray = ncore.create_request(
        ndialog, "NOTIFY", headers=[("Event", "refer;id=1")], body=b"SIP/2.0 200 OK\r\n"
    )
    ncore.send_request(stray, ndialog.next_hop(), pair.now)
    pair.pump()
    assert pair.sent(rname, "SIP/2.0 481")


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
def test_final_notify_after_bye_is_still_answered_200(transport):
    """GENESYS.md §6 step 4 / §12 item 8: the device's BYE may overtake the final NOTIFY."""
    pair, rname, rcore, rdialog, nname, ncore, _nd = setup_call(transport)
    sub = rcore.refer(rdialog, REFER_TO, pair.now)
    pair.pump()
    notifier = pair.take(nname, ReferReceived).notifier
    ncore.accept_refer(notifier, pair.now)
    pair.pump()
    rcore.bye(rdialog, pair.now)  # hangs up before the outcome is known
    pair.pump()
    assert pair.take(nname, DialogTerminated).reason == "remote-bye"
    assert rdialog.state is DialogState.TERMINATED and rdialog.id in rcore.dialogs  # kept for the usage
    ncore.notify_refer(notifier, 200, "OK", pair.now)
    pair.pump()
    assert pair.take(rname, ReferCompleted).subscription is sub
    assert not pair.sent(rname, "SIP/2.0 481")
    pair.run_out()
    pair.assert_clean()


def test_notifier_bye_then_notify_race_seen_from_genesys_side():
    """Genesys sends the final NOTIFY and then BYE; the device answers both."""
    pair, rname, rcore, rdialog, nname, ncore, ndialog = setup_call()
    rcore.refer(rdialog, REFER_TO, pair.now)
    pair.pump()
    notifier = pair.take(nname, ReferReceived).notifier
    ncore.accept_refer(notifier, pair.now)
    ncore.notify_refer(notifier, 200, "OK", pair.now)
    ncore.bye(ndialog, pair.now)
    pair.pump()
    assert pair.take(rname, ReferCompleted)
    assert pair.take(rname, DialogTerminated).reason == "remote-bye"
    pair.run_out()
    pair.assert_clean()


def test_lenient_notify_without_event_and_subscription_state():
    """jambonz' SIPp scenario sends NOTIFY with neither header: accept, warn."""
    pair, rname, rcore, rdialog, nname, ncore, ndialog = setup_call()
    rcore.refer(rdialog, REFER_TO, pair.now)
    pair.pump()
    notifier = pair.take(nname, ReferReceived).notifier
    ncore.respond(notifier.tx, 202, now=pair.now)
    bare = ncore.create_request(ndialog, "NOTIFY", body=b"SIP/2.0 200 OK\r\n", content_type="message/sipfrag")
    ncore.send_in_dialog(ndialog, bare, pair.now)
    pair.pump()
    assert pair.take(rname, ReferCompleted).status == 200
    warnings = [w.text for w in pair.all(rname, ProtocolWarning)]
    assert any("Event" in w for w in warnings) and any("Subscription-State" in w for w in warnings)
    assert pair.sent(rname, "SIP/2.0 200")


def test_notify_without_id_matches_the_first_refer():
    pair, rname, rcore, rdialog, nname, ncore, ndialog = setup_call()
    sub = rcore.refer(rdialog, REFER_TO, pair.now)
    pair.pump()
    ncore.respond(pair.take(nname, ReferReceived).notifier.tx, 202, now=pair.now)
    headers = [("Event", "refer"), ("Subscription-State", "active;expires=60")]
    notify = ncore.create_request(ndialog, "NOTIFY", headers=headers, body=b"SIP/2.0 180 Ringing\r\n")
    ncore.send_in_dialog(ndialog, notify, pair.now)
    pair.pump()
    progress = pair.take(rname, ReferProgress)
    assert (progress.subscription, progress.status) == (sub, 180)
    assert not pair.all(rname, ProtocolWarning)


def test_notify_with_unknown_id_gets_481():
    pair, rname, rcore, rdialog, _nname, ncore, ndialog = setup_call()
    rcore.refer(rdialog, REFER_TO, pair.now)
    pair.pump()
    headers = [("Event", "refer;id=999"), ("Subscription-State", "active")]
    ncore.request(ndialog, "NOTIFY", pair.now, headers=headers, body=b"SIP/2.0 100 Trying\r\n")
    pair.pump()
    assert pair.sent(rname, "SIP/2.0 481")


def test_notify_overtaking_the_202():
    pair, rname, rcore, rdialog, nname, ncore, _nd = setup_call()
    pair.drop(nname, "SIP/2.0 202")
    rcore.refer(rdialog, REFER_TO, pair.now)
    pair.pump()
    ncore.accept_refer(pair.take(nname, ReferReceived).notifier, pair.now)
    pair.pump()
    assert pair.take(rname, ReferProgress).status == 100  # before any 202
    assert not pair.all(rname, ReferAccepted)
    pair.advance(1)  # REFER retransmitted, the 202 re-sent
    assert pair.take(rname, ReferAccepted)


def test_final_sipfrag_with_active_state_sets_the_outcome_and_lingers():
    pair, rname, rcore, rdialog, nname, ncore, _ndialog = setup_call()
    sub = rcore.refer(rdialog, REFER_TO, pair.now)
    pair.pump()
    notifier = pair.take(nname, ReferReceived).notifier
    ncore.accept_refer(notifier, pair.now, notify_trying=False)
    ncore.notify_refer(notifier, 200, "OK", pair.now, terminal=False)
    pair.pump()
    assert pair.take(rname, ReferCompleted)
    assert sub.id in rdialog.subscriptions  # still answering NOTIFYs
    ncore.notify_refer(notifier, 200, "OK", pair.now, terminal=True)
    pair.pump()
    assert len(pair.all(rname, ReferCompleted)) == 1 and not rdialog.subscriptions


def test_refer_needs_exactly_one_refer_to():
    pair, _rname, rcore, rdialog, nname, *_ = setup_call()
    request = rcore.create_request(
        rdialog, "REFER", headers=[("Refer-To", "<sip:a@h>"), ("Refer-To", "<sip:b@h>")]
    )
    rcore.send_in_dialog(rdialog, request, pair.now)
    pair.pump()
    assert pair.sent(nname, "SIP/2.0 400")
    assert not pair.all(nname, ReferReceived)


def test_forgotten_notifier_ends_itself_at_expiry():
    pair, rname, rcore, rdialog, nname, ncore, ndialog = setup_call(refer_timeout=1000.0)
    rcore.refer(rdialog, REFER_TO, pair.now)
    pair.pump()
    notifier = pair.take(nname, ReferReceived).notifier
    ncore.accept_refer(notifier, pair.now, expires=60)
    pair.advance(61)
    last = notifies(pair, nname)[-1]
    assert last.headers.get("Subscription-State") == "terminated;reason=timeout"
    assert notifier.state is SubscriptionState.TERMINATED and not ndialog.notifiers
    failed = pair.take(rname, ReferFailed)
    assert failed.status is None and failed.reason == "timeout"  # terminated with a 100: no outcome


def test_notifier_api_misuse_raises():
    pair, _rname, rcore, rdialog, nname, ncore, _nd = setup_call()
    rcore.refer(rdialog, REFER_TO, pair.now)
    pair.pump()
    notifier = pair.take(nname, ReferReceived).notifier
    with pytest.raises(TransactionError):
        ncore.notify_refer(notifier, 200, "OK", pair.now)  # not accepted yet
    with pytest.raises(TransactionError):
        ncore.reject_refer(notifier, 202, pair.now)
    ncore.accept_refer(notifier, pair.now)
    with pytest.raises(TransactionError):
        ncore.accept_refer(notifier, pair.now)


def test_refer_needs_a_confirmed_dialog():
    pair = Pair("UDP")
    invite(pair)
    pair.pump()
    pair.b.respond(pair.take("b", RequestReceived).tx, 180, now=pair.now)
    pair.pump()
    early = pair.all("b", RequestReceived)[0].tx.dialog
    with pytest.raises(TransactionError):
        pair.b.refer(early, REFER_TO, pair.now)


def test_non_refer_notify_goes_to_the_tu():
    pair, rname, rcore, rdialog, nname, ncore, ndialog = setup_call()
    ncore.request(
        ndialog, "NOTIFY", pair.now, headers=[("Event", "dialog"), ("Subscription-State", "active")]
    )
    pair.pump()
    event = pair.take(rname, RequestReceived)
    assert event.request.method == "NOTIFY" and event.dialog is rdialog
    rcore.respond(event.tx, 200, now=pair.now)
    pair.pump()
    assert pair.take(nname, ResponseReceived).response.status == 200


# ---------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"SIP/2.0 200 OK\r\n", (200, "OK")),
        (b"SIP/2.0 404 Not Found", (404, "Not Found")),
        (b"\r\nSIP/2.0 100 Trying\r\nVia: x\r\n", (100, "Trying")),
        (b"SIP/2.0 603", (603, "")),
        (b"", None),
        (b"INVITE sip:x SIP/2.0\r\n", None),
        (b"SIP/2.0 99 Low\r\n", None),
        (b"SIP/2.0 2000 Big\r\n", None),
    ],
)
def test_sipfrag_status(body, expected):
    assert sipfrag_status(body) == expected


def test_read_notify_reads_event_state_and_sipfrag():
    raw = (
        "NOTIFY sip:x@h SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@h>;tag=1\r\n"
        "To: <sip:b@h>;tag=2\r\nCall-ID: c\r\nCSeq: 5 NOTIFY\r\nEvent: refer;id=3\r\n"
        "Subscription-State: terminated;reason=noresource\r\nContent-Type: message/sipfrag\r\n\r\n"
        "SIP/2.0 503 Service Unavailable\r\n"
    )
    view = read_notify(parse_message(raw.encode()))
    assert view.is_refer and view.sub_id == "3" and view.terminated
    assert (view.status, view.reason, view.state_reason) == (503, "Service Unavailable", "noresource")
    assert view.warnings == ()
