"""The dialog's own Contact (RFC 3261 §12.1.1/§12.1.2 local target) on everything the core writes later.

A UA may advertise a per-dialog Contact (the emulator's opaque ``gcdlg`` parameter, GENESYS.md §4.2
RC-DCV). The Contact of the INVITE (UAC) or of the 1xx/2xx that created the dialog (UAS) must then be the
one on every target refresh request (re-INVITE, UPDATE, REFER, NOTIFY) and on every 2xx to the peer's
target refresh requests in that dialog, because any of them can refresh the peer's remote target (§12.2).
Non target refresh requests (BYE, INFO) carry none. An explicit Contact from the TU wins, and once its
target refresh succeeds it becomes the dialog's.
"""

from __future__ import annotations

import pytest

from takeback.sip import Request
from takeback.sip.dialog import Dialog, raw_uri
from takeback.sip.events import (
    DialogConfirmed,
    ReferAccepted,
    ReferReceived,
    RequestReceived,
)

from .pair import HOST, Pair, invite

REFER_TO = "<sip:+33456456456@localhost?User-to-User=0054686973%3Bencoding%3Dhex>"
LEG = f"<sip:{HOST}:5070;gcdlg=3f2a9c>"  # the caller's per-leg Contact (on core a, port 5070)
ANSWER = f"<sip:callee@{HOST}:5080;leg=b1>"  # the callee's per-dialog Contact (core b, port 5080)


def contacts(pair: Pair, sender: str, prefix: str) -> list[list[str]]:
    """The Contact values of every message ``sender`` sent whose first line starts with ``prefix``."""
    return [p.message.headers.get_all("Contact") for p in pair.sent(sender, prefix)]  # type: ignore[union-attr]


def last_contact(pair: Pair, sender: str, prefix: str) -> list[str]:
    return contacts(pair, sender, prefix)[-1]


def call(
    pair: Pair, *, invite_contact: str | None = LEG, answer_contact: str | None = None
) -> tuple[Dialog, Dialog]:
    """An established call a -> b; the INVITE and the 200 carry the given Contacts (None: the core's)."""
    headers = [("Contact", invite_contact)] if invite_contact else []
    invite(pair, headers=headers)
    pair.pump()
    event = pair.take("b", RequestReceived)
    extra = [("Contact", answer_contact)] if answer_contact else []
    pair.b.respond(event.tx, 200, now=pair.now, headers=extra)
    pair.pump()
    return pair.take("a", DialogConfirmed).dialog, pair.take("b", DialogConfirmed).dialog


def answer_next(pair: Pair, name: str, status: int = 200, headers=()) -> Request:
    core = pair.a if name == "a" else pair.b
    event = pair.take(name, RequestReceived)
    core.respond(event.tx, status, now=pair.now, headers=headers)
    pair.pump()
    return event.request


# ---------------------------------------------------------------- UAC: the INVITE's Contact


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
def test_uac_target_refresh_requests_carry_the_invite_contact(transport: str) -> None:
    pair = Pair(transport)
    uac, uas = call(pair)
    assert uac.local_contact == LEG and uac.local_target == raw_uri(LEG)
    assert uas.remote_target == raw_uri(LEG)  # what the peer echoes in its Request-URIs
    pair.a.request(uac, "INVITE", pair.now, body=b"v=0\r\n", content_type="application/sdp")
    pair.pump()
    assert answer_next(pair, "b").headers.get_all("Contact") == [LEG]
    pair.a.request(uac, "UPDATE", pair.now)
    pair.pump()
    assert answer_next(pair, "b").headers.get_all("Contact") == [LEG]
    pair.a.refer(uac, REFER_TO, pair.now)
    pair.pump()
    assert pair.take("b", ReferReceived).request.headers.get_all("Contact") == [LEG]
    assert uas.remote_target == raw_uri(LEG)  # every refresh kept the opaque parameter


def test_non_target_refresh_requests_carry_no_contact() -> None:
    """§12.2.1.1: only target refresh requests carry Contact (BYE, INFO do not)."""
    pair = Pair()
    uac, _uas = call(pair)
    pair.a.request(uac, "INFO", pair.now, body=b"Signal=1\r\n", content_type="application/dtmf-relay")
    pair.pump()
    assert answer_next(pair, "b").headers.get_all("Contact") == []
    pair.a.bye(uac, pair.now)
    pair.pump()
    assert last_contact(pair, "a", "BYE") == []
    assert last_contact(pair, "a", "ACK") == []


def test_uac_2xx_to_the_peers_target_refresh_carries_the_invite_contact() -> None:
    """§12.2.2 seen from the UAC of the call: b re-INVITEs, a's 200 names a's dialog Contact."""
    pair = Pair()
    _uac, uas = call(pair)
    pair.b.request(uas, "INVITE", pair.now, body=b"v=0\r\n", content_type="application/sdp")
    pair.pump()
    answer_next(pair, "a")
    assert last_contact(pair, "a", "SIP/2.0 200") == [LEG]
    pair.b.request(uas, "UPDATE", pair.now)
    pair.pump()
    answer_next(pair, "a")
    assert last_contact(pair, "a", "SIP/2.0 200") == [LEG]
    assert uas.remote_target == raw_uri(LEG)


def test_refer_202_and_notifies_carry_the_dialog_contact() -> None:
    """a is the notifier (the emulator's case): its 202 and every NOTIFY name the leg's Contact, and the
    200s b sends to those NOTIFYs name b's."""
    pair = Pair()
    uac, uas = call(pair, answer_contact=ANSWER)
    sub = pair.b.refer(uas, REFER_TO, pair.now)
    pair.pump()
    received = pair.take("a", ReferReceived)
    assert received.request.headers.get_all("Contact") == [ANSWER]
    pair.a.accept_refer(received.notifier, pair.now)
    pair.pump()
    pair.a.notify_refer(received.notifier, 200, "OK", pair.now)
    pair.pump()
    assert pair.take("b", ReferAccepted).subscription is sub
    assert last_contact(pair, "a", "SIP/2.0 202") == [LEG]
    notifies = contacts(pair, "a", "NOTIFY")
    assert notifies == [[LEG], [LEG]]
    assert contacts(pair, "b", "SIP/2.0 200")[-2:] == [[ANSWER], [ANSWER]]
    assert uac.remote_target == raw_uri(ANSWER) and uas.remote_target == raw_uri(LEG)


# ---------------------------------------------------------------- UAS: the 1xx/2xx's Contact


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
def test_uas_2xx_to_reinvite_and_update_carries_the_dialog_contact(transport: str) -> None:
    pair = Pair(transport)
    uac, uas = call(pair, answer_contact=ANSWER)
    assert uas.local_contact == ANSWER and uac.remote_target == raw_uri(ANSWER)
    pair.a.request(uac, "INVITE", pair.now, body=b"v=0\r\n", content_type="application/sdp")
    pair.pump()
    answer_next(pair, "b")
    assert last_contact(pair, "b", "SIP/2.0 200") == [ANSWER]
    pair.a.request(uac, "UPDATE", pair.now)
    pair.pump()
    answer_next(pair, "b")
    assert last_contact(pair, "b", "SIP/2.0 200") == [ANSWER]
    assert uac.remote_target == raw_uri(ANSWER)
    pair.b.request(uas, "INVITE", pair.now, body=b"v=0\r\n", content_type="application/sdp")
    pair.pump()
    assert answer_next(pair, "a").headers.get_all("Contact") == [ANSWER]


def test_early_dialog_contact_is_kept_by_the_2xx() -> None:
    """The 180 created the dialog with its Contact (§12.1.1); the 200 the TU sends without one keeps it."""
    pair = Pair()
    invite(pair)
    pair.pump()
    event = pair.take("b", RequestReceived)
    pair.b.respond(event.tx, 180, now=pair.now, headers=[("Contact", ANSWER)])
    pair.b.respond(event.tx, 200, now=pair.now)
    pair.pump()
    assert contacts(pair, "b", "SIP/2.0 1") == [[ANSWER]]
    assert contacts(pair, "b", "SIP/2.0 200") == [[ANSWER]]
    assert pair.take("a", DialogConfirmed).dialog.remote_target == raw_uri(ANSWER)


def test_1xx_to_non_invite_target_refresh_gets_no_contact() -> None:
    pair = Pair()
    uac, _uas = call(pair)
    pair.a.request(uac, "UPDATE", pair.now)
    pair.pump()
    event = pair.take("b", RequestReceived)
    pair.b.respond(event.tx, 183, now=pair.now)
    pair.b.respond(event.tx, 200, now=pair.now)
    pair.pump()
    assert contacts(pair, "b", "SIP/2.0 183") == [[]]
    assert last_contact(pair, "b", "SIP/2.0 200") == [pair.b.contact("UDP")]


# ---------------------------------------------------------------- explicit Contact, default Contact


def test_explicit_contact_on_a_request_wins_and_moves_the_target_once_accepted() -> None:
    pair = Pair()
    uac, uas = call(pair)
    moved = f"<sip:{HOST}:5070;gcdlg=moved>"
    pair.a.request(uac, "INVITE", pair.now, headers=[("Contact", moved)], body=b"v=0\r\n")
    pair.pump()
    assert answer_next(pair, "b", 488).headers.get_all("Contact") == [moved]
    assert uac.local_contact == LEG  # refused: the peer still uses the old target
    pair.a.request(uac, "UPDATE", pair.now, headers=[("Contact", moved)])
    pair.pump()
    assert answer_next(pair, "b").headers.get_all("Contact") == [moved]
    assert uac.local_contact == moved and uas.remote_target == raw_uri(moved)
    pair.a.request(uac, "INVITE", pair.now, body=b"v=0\r\n")
    pair.pump()
    assert answer_next(pair, "b").headers.get_all("Contact") == [moved]


def test_explicit_contact_on_a_2xx_wins_and_becomes_the_dialogs() -> None:
    pair = Pair()
    uac, uas = call(pair, answer_contact=ANSWER)
    moved = f"<sip:callee@{HOST}:5080;leg=b2>"
    pair.a.request(uac, "INVITE", pair.now, body=b"v=0\r\n")
    pair.pump()
    answer_next(pair, "b", headers=[("Contact", moved)])
    assert last_contact(pair, "b", "SIP/2.0 200") == [moved]
    assert uas.local_contact == moved and uac.remote_target == raw_uri(moved)
    pair.b.request(uas, "UPDATE", pair.now)
    pair.pump()
    assert answer_next(pair, "a").headers.get_all("Contact") == [moved]


def test_a_target_refresh_built_by_hand_gets_the_dialog_contact_when_sent() -> None:
    pair = Pair()
    uac, _uas = call(pair)
    request = pair.a.create_request(uac, "UPDATE")
    request.headers.remove("Contact")
    pair.a.send_in_dialog(uac, request, pair.now)
    pair.pump()
    assert answer_next(pair, "b").headers.get_all("Contact") == [LEG]


@pytest.mark.parametrize("transport", ["UDP", "TLS"])
def test_without_a_per_dialog_contact_the_ua_default_is_used(transport: str) -> None:
    """The device's case: nothing per dialog, so every Contact is the UA-wide one, as before."""
    pair = Pair(transport)
    uac, uas = call(pair, invite_contact=None)
    default_a, default_b = pair.a.contact(transport), pair.b.contact(transport)
    assert (uac.local_contact, uas.local_contact) == (default_a, default_b)
    pair.a.request(uac, "INVITE", pair.now, body=b"v=0\r\n")
    pair.pump()
    assert answer_next(pair, "b").headers.get_all("Contact") == [default_a]
    assert last_contact(pair, "b", "SIP/2.0 200") == [default_b]


def test_dialog_without_local_contact_falls_back_to_the_ua_default() -> None:
    """A Dialog built by hand (no Contact known) still gets one on target refresh requests."""
    pair = Pair()
    uac, _uas = call(pair)
    uac.local_contact = None
    assert uac.local_target is None
    request = pair.a.create_request(uac, "NOTIFY", headers=[("Event", "refer")])
    assert request.headers.get_all("Contact") == [pair.a.contact("UDP")]
