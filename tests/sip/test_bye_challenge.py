"""A BYE we send is challenged with 401/407 (GENESYS.md §12 item 12; RFC 3261 §22.2, §22.3).

The dialog ends for the TU as the BYE goes (§15.1.1: DialogTerminated at once, no new requests), yet the
core keeps it until the BYE's final response so the authorized retry can go in the same dialog with a new
CSeq. The challenger is a :class:`DigestServer` standing in front of core ``b`` (a proxy/B2BUA in the
path): it holds back ``a``'s BYE and answers it, and lets the authorized retry through to ``b``.
"""

from __future__ import annotations

import pytest

from takeback.sip import Request, Response, TransactionError
from takeback.sip.digest import (
    Credentials,
    DigestServer,
    VerifyOutcome,
    answer_challenge,
    parse_challenges,
)
from takeback.sip.events import DialogTerminated, ResponseReceived
from takeback.sip.responses import make_response

from .pair import Pair
from .test_core import answer, establish

PASSWORD = "s3cret"
HEADERS = {
    401: ("WWW-Authenticate", "Authorization"),
    407: ("Proxy-Authenticate", "Proxy-Authorization"),
}


class Challenger:
    """Answers ``sender``'s next BYE with 401/407 in place of the peer (the BYE never reaches it)."""

    def __init__(self, pair: Pair, sender: str, status: int = 407) -> None:
        self.pair = pair
        self.sender = sender
        self.status = status
        self.server = DigestServer("genesys", b"k" * 32, 60.0)
        pair.drop(sender, "BYE")

    def challenge(self, status: int | None = None) -> Response:
        """Send the 401/407 (or ``status``) for the held-back BYE to its sender; returns it."""
        held = [p for p in self.pair.sent(self.sender, "BYE") if p.dropped][-1].message
        assert isinstance(held, Request)
        response = make_response(held, status or self.status)
        if status is None:
            header = HEADERS[self.status][0]
            response.headers.add(header, str(self.server.challenge(self.pair.now)))
            response.invalidate()
        sender, receiver = (self.pair.a, self.pair.b) if self.sender == "a" else (self.pair.b, self.pair.a)
        sender.receive_message(response, self.pair.peer(receiver), self.pair.now)
        self.pair.pump()
        return response

    def credentials(self, response: Response, uri: str) -> tuple[str, str]:
        challenge_header, answer_header = HEADERS[response.status]
        (challenge,) = parse_challenges(response.headers.get_raw(challenge_header))
        answered = answer_challenge(challenge, "BYE", uri, "genesys", PASSWORD, cnonce="c0ffee")
        return answer_header, str(answered)


def _bye_statuses(pair: Pair, name: str) -> list[int]:
    """The final responses to ``name``'s BYEs its TU was given, in order."""
    events = pair.all(name, ResponseReceived)
    return [e.response.status for e in events if e.tx.method == "BYE" and e.response.status >= 200]


def _bye_packets(pair: Pair, sender: str) -> list[Request]:
    out = [p.message for p in pair.sent(sender, "BYE")]
    assert all(isinstance(m, Request) for m in out)
    return out  # type: ignore[return-value]


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
@pytest.mark.parametrize("status", [407, 401])
@pytest.mark.parametrize("hanger", ["a", "b"])
def test_challenged_bye_is_retried_with_credentials_in_the_same_dialog(transport, status, hanger):
    pair = Pair(transport)
    uac, uas = establish(pair)
    dialog = uac if hanger == "a" else uas
    core = pair.a if hanger == "a" else pair.b
    other = "b" if hanger == "a" else "a"
    challenger = Challenger(pair, hanger, status)
    first_tx = core.bye(dialog, pair.now)
    assert first_tx is not None
    pair.pump()
    # §15.1.1: over for the TU as soon as the BYE is sent ...
    assert pair.take(hanger, DialogTerminated).reason == "local-bye"
    assert dialog.id in core.dialogs and dialog.bye_outstanding and not dialog.bye_retry_open
    challenge = challenger.challenge()
    assert _bye_statuses(pair, hanger) == [status]
    assert dialog.bye_retry_open and dialog.id in core.dialogs
    name, value = challenger.credentials(challenge, dialog.request_uri)
    retry_tx = core.bye(dialog, pair.now, headers=[(name, value)])
    assert retry_tx is not None and retry_tx is not first_tx
    pair.pump()
    assert _bye_statuses(pair, hanger) == [status, 200]
    assert pair.take(other, DialogTerminated).reason == "remote-bye"
    assert len(pair.all(hanger, DialogTerminated)) == 1  # ... and it ends once
    first, retry = _bye_packets(pair, hanger)
    assert retry.call_id == first.call_id and retry.uri == first.uri == dialog.request_uri
    assert retry.headers.get("From") == first.headers.get("From")
    assert retry.headers.get("To") == first.headers.get("To")
    assert retry.cseq.seq == first.cseq.seq + 1  # §22.2: a new request
    assert retry.top_via.branch != first.top_via.branch
    assert first.headers.get(name) is None
    result = challenger.server.verify("BYE", Credentials.parse(retry.headers.get(name) or ""), PASSWORD, 0.0)
    assert result.outcome is VerifyOutcome.OK
    assert not dialog.bye_outstanding
    pair.run_out()
    pair.assert_clean()


def test_the_retry_must_carry_credentials_and_nothing_else_may_go():
    pair = Pair()
    uac, _uas = establish(pair)
    challenger = Challenger(pair, "a")
    pair.a.bye(uac, pair.now)
    pair.pump()
    with pytest.raises(TransactionError):  # the session is over: no INFO, re-INVITE, REFER ...
        pair.a.request(uac, "INFO", pair.now)
    assert pair.a.bye(uac, pair.now) is None  # BYE in flight: no second one before its final response
    challenger.challenge()
    with pytest.raises(TransactionError, match="Authorization"):
        pair.a.bye(uac, pair.now)
    with pytest.raises(TransactionError):
        pair.a.request(uac, "INFO", pair.now)
    with pytest.raises(TransactionError):
        pair.a.refer(uac, "<sip:x@example.com>", pair.now)
    assert pair.count("a", "BYE") == 1 and pair.count("a", "INFO") == 0 and pair.count("a", "REFER") == 0
    assert uac.bye_retry_open  # the refused attempts left the window open


def test_a_challenge_again_opens_the_window_again():
    """The core answers any number of challenges; "only once" is the TU's policy (device.request_auth)."""
    pair = Pair()
    uac, _uas = establish(pair)
    challenger = Challenger(pair, "a", 401)
    pair.a.bye(uac, pair.now)
    pair.pump()
    challenge = challenger.challenge()
    pair.drop("a", "BYE")  # hold back the retry too
    pair.a.bye(uac, pair.now, headers=[challenger.credentials(challenge, uac.request_uri)])
    pair.pump()
    assert not uac.bye_retry_open
    challenge = challenger.challenge()
    assert uac.bye_retry_open
    pair.a.bye(uac, pair.now, headers=[challenger.credentials(challenge, uac.request_uri)])
    pair.pump()
    seqs = [bye.cseq.seq for bye in _bye_packets(pair, "a")]
    assert seqs == [seqs[0], seqs[0] + 1, seqs[0] + 2]
    assert pair.take("b", DialogTerminated).reason == "remote-bye"
    pair.run_out()
    pair.assert_clean()


@pytest.mark.parametrize("status", [481, 408, 403, 500])
def test_any_other_final_response_ends_the_bye(status):
    pair = Pair()
    uac, _uas = establish(pair)
    challenger = Challenger(pair, "a")
    pair.a.bye(uac, pair.now)
    pair.pump()
    challenger.challenge(status)
    assert not uac.bye_outstanding and uac.id not in pair.a.dialogs
    assert pair.a.bye(uac, pair.now) is None
    with pytest.raises(TransactionError):
        pair.a.request(uac, "BYE", pair.now)
    assert pair.count("a", "BYE") == 1
    assert len(pair.all("a", DialogTerminated)) == 1


def test_bye_timeout_ends_it():
    pair = Pair()
    uac, _uas = establish(pair)
    pair.drop("a", "BYE", count=100)
    pair.a.bye(uac, pair.now)
    pair.advance(pair.a.timer_values.timeout + 1)
    assert not uac.bye_outstanding and uac.id not in pair.a.dialogs
    assert pair.a.transaction_count == 0 and pair.a.timer_count == 0


def test_window_closes_after_64_t1_without_a_retry():
    pair = Pair("TCP")
    uac, _uas = establish(pair)
    challenger = Challenger(pair, "a")
    pair.a.bye(uac, pair.now)
    pair.pump()
    challenge = challenger.challenge()
    pair.advance(pair.a.timer_values.timeout - 1)
    assert uac.bye_retry_open
    pair.advance(2)
    assert not uac.bye_retry_open and uac.id not in pair.a.dialogs
    assert pair.a.bye(uac, pair.now, headers=[challenger.credentials(challenge, uac.request_uri)]) is None
    assert pair.count("a", "BYE") == 1
    assert pair.a.dialog_count == 0 and pair.a.transaction_count == 0 and pair.a.timer_count == 0


@pytest.mark.parametrize("challenged", [False, True])
@pytest.mark.parametrize(
    ("method", "headers"),
    [("INFO", []), ("NOTIFY", [("Event", "dialog"), ("Subscription-State", "active")])],
)
def test_peer_requests_while_our_bye_is_outstanding_get_481(challenged, method, headers):
    """§12.2.2: the session is over (§15.1.1), so INFO and a NOTIFY outside any subscription get 481."""
    pair = Pair()
    uac, uas = establish(pair)
    challenger = Challenger(pair, "a")
    pair.a.bye(uac, pair.now)
    pair.pump()
    if challenged:
        challenger.challenge()
    pair.b.request(uas, method, pair.now, headers=headers)
    pair.pump()
    assert pair.take("b", ResponseReceived).response.status == 481
    assert uac.bye_outstanding and uac.bye_retry_open is challenged
    assert pair.all("a", DialogTerminated)[0].reason == "local-bye"


def test_bye_crossing_ours_gets_200_and_closes_the_window():
    pair = Pair()
    uac, uas = establish(pair)
    challenger = Challenger(pair, "a")
    pair.a.bye(uac, pair.now)
    pair.pump()
    challenge = challenger.challenge()
    pair.b.bye(uas, pair.now)
    pair.pump()
    assert pair.take("b", ResponseReceived).response.status == 200
    assert pair.take("b", DialogTerminated).reason == "local-bye"
    assert len(pair.all("a", DialogTerminated)) == 1
    assert not uac.bye_outstanding and uac.id not in pair.a.dialogs
    assert pair.a.bye(uac, pair.now, headers=[challenger.credentials(challenge, uac.request_uri)]) is None
    assert pair.count("a", "BYE") == 1
    pair.run_out()
    pair.assert_clean()


def test_bye_crossing_ours_in_flight_gets_200_and_the_late_challenge_is_ignored():
    pair = Pair()
    uac, uas = establish(pair)
    challenger = Challenger(pair, "a")
    pair.a.bye(uac, pair.now)
    pair.pump()
    pair.b.bye(uas, pair.now)
    pair.pump()
    assert pair.take("b", ResponseReceived).response.status == 200
    assert uac.id not in pair.a.dialogs
    challenger.challenge()
    assert not uac.bye_retry_open
    pair.run_out()
    pair.assert_clean()


def test_uac_cancel_race_bye_can_be_challenged_too():
    """§9.1: a CANCEL that lost against the 2xx ends the call with a BYE; that BYE follows the same rule."""
    pair = Pair()
    tx = pair.a.send_request(_invite_request(pair), pair.peer(pair.b), pair.now)
    pair.pump()
    pair.a.cancel(tx, pair.now)
    challenger = Challenger(pair, "a")
    answer(pair, "b")  # the 200 crosses the CANCEL
    pair.pump()
    (dialog,) = pair.a.dialogs.values()
    assert dialog.terminate_reason == "cancelled" and dialog.bye_outstanding
    challenge = challenger.challenge()
    pair.a.bye(dialog, pair.now, headers=[challenger.credentials(challenge, dialog.request_uri)])
    pair.pump()
    assert pair.a.dialog_count == 0


def _invite_request(pair: Pair) -> Request:
    dest = pair.peer(pair.b)
    return pair.a.make_request(
        "INVITE", f"sip:x@{dest.host}:{dest.port}", from_="<sip:a@example.com>", to="<sip:x@example.com>",
        body=b"v=0\r\n", content_type="application/sdp",
    )  # fmt: skip
