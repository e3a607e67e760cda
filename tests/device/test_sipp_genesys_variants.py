"""SIPp plays Genesys with INVITEs varied the way a real trunk or SBC may (issue #5 §4), against the device.

One template, ``sipp/genesys_uac_variants.xml``, filled per test: the INVITE's header block, SIPp regex checks
(``<ereg check_it="true">``) on the device's 200, REFER and BYE, and who ends the dialog. The evidence is
threefold: SIPp fails the call when a regex does not match; the device's SIP trace gives the exact bytes it
sent; its SQLite row gives what it understood.

* **UUI** (GENESYS.md §5): every header type and encoding Genesys may send; the flow takes back with
  ``"{uui}"`` (what Genesys would expose as ``Call.UUIData``), so the Refer-To must carry exactly that text
  re-encoded the RFC way (``?User-to-User=00<hex>%3Bencoding%3Dhex``, GENESYS.md §12.1).
* **Formatting** (RFC 3261 §7.3.1, §7.3.3, §20): compact header names, lower/upper case names, spaces around
  the colon, continuation lines, two Via values in one line or two Via lines: the call is still taken back and
  the 200 echoes Via/From/To/Call-ID/CSeq (§8.2.6.2).
* **Dialog routing** (RFC 3261 §12.1.1, §12.2.1.1): the device is the UAS of the INVITE, so its route set
  is the Record-Route values *in order* (a UAC would reverse them, §12.1.2) with every URI parameter, and its
  in-dialog REFER and BYE go to the peer's Contact URI verbatim (unknown parameters included, header
  parameters outside ``<>`` not) with those Route headers, to the first route's address (loose routing).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import pytest

from takeback.observe.trace import TraceEntry
from takeback.sip import Request, Response, parse_message
from tests.interop.sipp_support import SippResult, free_port, run_sipp, sipp_command

from .device_helpers import rows, running_device, wait_for

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp (sip-tester) is not installed"),
]

TEMPLATE = Path(__file__).parent / "sipp" / "genesys_uac_variants.xml"
NUMBER = "+33456456456"
DEVICE = """
access:
  ip_acl: [127.0.0.1/32]
app:
  flow:
    - answer
    - take_back: {uui: "{uui}"}
take_back: {number: "+33456456456", host: localhost, pd: "00", timeout: 10s, bye_grace: @GRACE@}
"""
CALLS = 2
TEXT = "This is my data"
HEX = TEXT.encode().hex()  # 54686973206973206d792064617461, GENESYS.md §5.2 worked example
CNV = "x-inin-cnv: 5ee2f000-0000-4000-8000-[pid][call_number]"
SDP_TYPE = "Content-Type: application/sdp"
SDP_LENGTH = "Content-Length: [len]"

#: Genesys sends the BYE after its NOTIFY (GENESYS.md §6).
GENESYS_BYE = """
  <send retrans="500">
    <![CDATA[

      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport
      Max-Forwards: 70
      From: "Genesys Caller" <sip:+13175559876@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>;tag=[$uas_tag]
      Call-ID: [call_id]
      CSeq: 3 BYE
      Content-Length: 0

    ]]>
  </send>

  <recv response="200" crlf="true"/>
"""
#: Genesys does not hang up: the device sends the BYE once ``take_back.bye_grace`` has passed.
DEVICE_BYE = """
  <recv request="BYE" crlf="true">
    <action>
@BYE_ACTIONS@
    </action>
  </recv>

  <send>
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
"""


@dataclass(frozen=True)
class Check:
    """One SIPp ``<ereg check_it="true">``: ``where`` is ``msg`` (the whole message) or a header name."""

    name: str
    regexp: str
    where: str = "msg"

    def xml(self) -> str:
        search = 'search_in="msg"' if self.where == "msg" else f'search_in="hdr" header="{self.where}:"'
        regexp = escape(self.regexp, {'"': "&quot;"})
        return f'      <ereg regexp="{regexp}" {search} check_it="true" assign_to="{self.name}"/>'


def ere(text: str) -> str:
    """``text`` as a literal in a POSIX extended regex (what SIPp's ``<ereg>`` compiles)."""
    return re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", text)


def write_scenario(
    path: Path,
    headers: list[str],
    *,
    ok: tuple[Check, ...] = (),
    refer: tuple[Check, ...] = (),
    device_bye: tuple[Check, ...] | None = None,
) -> Path:
    """Fill the template; ``device_bye`` given: SIPp waits for the device's BYE and checks it."""
    ending = GENESYS_BYE if device_bye is None else DEVICE_BYE.replace("@BYE_ACTIONS@", _lines(device_bye))
    checks = (*ok, *refer, *(device_bye or ()))
    assert len({c.name for c in checks}) == len(checks), "every check assigns its own variable"
    text = TEMPLATE.read_text()
    for key, value in {
        # SIPp strips each line's indentation; a line given as "\t  text" reaches the wire as "  text"
        "@INVITE_HEADERS@": "\n".join(line if line.startswith("\t") else "      " + line for line in headers),
        "@OK_ACTIONS@": _lines(ok),
        "@REFER_ACTIONS@": _lines(refer),
        "@ENDING@": ending,
        "@REFERENCES@": ",".join(c.name for c in checks) or "dummy1",
    }.items():
        assert key in text
        text = text.replace(key, value)
    path.write_text(text)
    return path


def _lines(checks: tuple[Check, ...]) -> str:
    return "\n".join(c.xml() for c in checks)


@dataclass
class Run:
    result: SippResult
    records: list[dict[str, Any]]
    trace: list[TraceEntry]

    def sent(self, start: str) -> list[Request | Response]:
        """What the device sent whose first line starts with ``start`` (``REFER``, ``SIP/2.0 200``…)."""
        return [_parse(e) for e in self.trace if e.direction == "out" and e.data.startswith(start.encode())]

    def received(self, start: str) -> list[TraceEntry]:
        return [e for e in self.trace if e.direction == "in" and e.data.startswith(start.encode())]

    def assert_all_taken_back(self, end_reason: str = "remote-bye") -> None:
        assert self.result.returncode == 0, self.result.describe()
        assert self.result.successful == CALLS
        assert len(self.records) == CALLS
        for row in self.records:
            assert (row["outcome"], row["end_reason"]) == ("taken-back", end_reason), row
            assert (row["invite_status"], row["refer_status"], row["notify_status"]) == (200, 202, 200)


def _parse(entry: TraceEntry) -> Request | Response:
    message = parse_message(entry.data)
    assert isinstance(message, Request | Response)
    return message


async def run_calls(tmp_path: Path, build: Any, *, grace: str = "2s", extra: tuple[str, ...] = ()) -> Run:
    """``build(sipp_port) -> scenario path``; CALLS calls against a fresh device, bounded by SIPp's
    ``-timeout`` and the outer limit of :func:`run_sipp`."""
    port = free_port()
    scenario = build(port)
    async with running_device(tmp_path, DEVICE.replace("@GRACE@", grace)) as server:
        command = sipp_command(
            str(scenario), local_port=port, calls=CALLS, remote=f"127.0.0.1:{server.endpoints[0].port}",
            rate=10, timeout=20, extra=("-s", "+19999990001", *extra),
        )  # fmt: skip
        result = await run_sipp(command, tmp_path, limit=40)
        await wait_for(lambda: not server.calls)
        trace = list(server.trace.entries())
        records = rows(server)
    return Run(result, records, trace)


def standard_headers(
    uui: str | None = f"User-to-User: 00{HEX};encoding=hex",
    *,
    contact: str = "<sip:genesys@[local_ip]:[local_port];transport=[transport]>",
    extra: tuple[str, ...] = (),
) -> list[str]:
    """The shared scenario's INVITE header block, with the UUI line(s), Contact and extra lines chosen."""
    lines = [
        "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport",
        "Max-Forwards: 70",
        'From: "Genesys Caller" <sip:+13175559876@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]',
        "To: <sip:[service]@[remote_ip]:[remote_port]>",
        "Call-ID: [call_id]",
        "CSeq: 1 INVITE",
        f"Contact: {contact}",
        *extra,
        "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, INFO",
        "User-Agent: GenesysEmulator/SIPp",
        CNV,
    ]
    return [*lines, *(uui.split("\n") if uui else []), SDP_TYPE, SDP_LENGTH]


# ----------------------------------------------------------------------------------------------- 1. UUI


def _hex(text: str) -> str:
    return text.encode().hex()


#: (id, the UUI header line as sent, what Genesys exposes as Call.UUIData, GENESYS.md §5.2)
UUI_VARIANTS = [
    ("user-to-user-hex", f"User-to-User: 00{HEX};encoding=hex", TEXT),
    ("user-to-user-upper-hex-rfc7433-params",
     f"User-to-User: 00{HEX.upper()};encoding=hex;purpose=isdn-uui;content=isdn-uui", TEXT),
    ("user-to-user-no-encoding-means-hex", f"User-to-User: 00{HEX}", TEXT),
    # any PD is removed; the take-back re-encodes with the device's own take_back.pd (00)
    ("user-to-user-other-pd", f"User-to-User: 04{HEX};encoding=hex", TEXT),
    ("user-to-user-pd-param-hex", f"User-to-User: {HEX};pd=00;encoding=hex", TEXT),
    ("user-to-user-pd-param-ascii", f"User-to-User: {TEXT};pd=00;encoding=ascii", TEXT),
    ("user-to-user-ascii-first-char-is-pd", f"User-to-User: 0{TEXT};encoding=ascii", TEXT),
    ("x-user-to-user-hex", f"x-User-To-User: {HEX};encoding=hex", TEXT),
    ("x-user-to-user-ascii", f"x-User-to-User: {TEXT};encoding=ascii", TEXT),
    ("x-user-to-user-no-encoding-means-hex", f"x-User-to-User: {HEX}", TEXT),
    # No PD although the type has one: Genesys still removes the first octet (§5.2, "data truncated").
    ("user-to-user-pd-omitted", f"User-to-User: {HEX};encoding=hex", TEXT[1:]),
    ("user-to-user-utf8", f"User-to-User: 00{_hex('Café 42|ok')};encoding=hex", "Café 42|ok"),
    # both types present: User-to-User is used, x-User-to-User ignored (§5.2)
    ("both-types-user-to-user-wins",
     f"x-User-to-User: {_hex('ignored')};encoding=hex\nUser-to-User: 00{HEX};encoding=hex", TEXT),
    ("conversation-and-digits", f"User-to-User: 00{_hex('5ee2f000|1234')};encoding=hex", "5ee2f000|1234"),
]  # fmt: skip


def expected_refer_to(text: str) -> str:
    """GENESYS.md §12.1, written out independently of takeback.uui: PD 00 + lower-case hex, ``;``/``=``
    of the URI header value escaped once (RFC 3261 §19.1.1)."""
    return f"<sip:{NUMBER}@localhost?User-to-User=00{_hex(text)}%3Bencoding%3Dhex>"


def _recorded_raw(lines: str) -> str:
    """The records keep the UUI lines as received, ``Name: value`` in message order, the header name spelt
    as the sender spelt it (GENESYS.md §5.2: a name-case rewrite is a known failure; keep the evidence)."""
    return lines


@pytest.mark.parametrize(
    ("uui_line", "uuidata"), [v[1:] for v in UUI_VARIANTS], ids=[v[0] for v in UUI_VARIANTS]
)
async def test_uui_variant_is_decoded_and_taken_back_re_encoded(
    tmp_path: Path, uui_line: str, uuidata: str
) -> None:
    refer_to = expected_refer_to(uuidata)

    def build(_port: int) -> Path:
        refer = (
            Check("refer_to_exact", f"^ *{ere(refer_to)}$", "Refer-To"),
            Check("refer_uri_is_contact", r"^REFER sip:genesys@127\.0\.0\.1:[0-9]+;transport=UDP SIP/2\.0"),
        )
        return write_scenario(tmp_path / "uui.xml", standard_headers(uui_line), refer=refer)

    run = await run_calls(tmp_path, build)
    run.assert_all_taken_back()
    for row in run.records:
        assert row["uui_in_raw"] == _recorded_raw(uui_line)
        assert (row["uui_in"], row["uui_out"]) == (uuidata, uuidata)
        assert (row["refer_to"], row["take_back_number"]) == (refer_to, NUMBER)
    refers = run.sent("REFER ")
    assert len(refers) == CALLS
    for refer in refers:
        assert refer.headers.get_raw("Refer-To") == [refer_to]
        assert refer.headers.get_raw("Route") == []  # no Record-Route, no route set


# ---------------------------------------------------------------------------------------- 2. formatting

EDGE_VIA = "SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-edge-[call_number];received=127.0.0.1"

#: RFC 3261 §7.3.3 compact forms (v f t i m l c k), lower/upper case names (§7.3.1), spaces around the colon
#: and inside CSeq, two Via values in one line (§7.3.1 comma list): SIPp plays the last proxy (top Via).
COMPACT = [
    f"v: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport ,  {EDGE_VIA}",
    "max-forwards:70",
    'f: "Genesys Caller" <sip:+13175559876@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]',
    "t:<sip:[service]@[remote_ip]:[remote_port]>",
    "i:   [call_id]",
    "cseq :  1   INVITE",
    "m: <sip:genesys@[local_ip]:[local_port];transport=[transport]>",
    "k: replaces, timer",
    "ALLOW: INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, INFO",
    "X-ININ-CNV: 5ee2f000-0000-4000-8000-[pid][call_number]",
    f"user-to-user: 00{HEX};encoding=hex",
    "c: application/sdp",
    "l: [len]",
]
#: Continuation lines (RFC 3261 §7.3.1 LWS: CRLF then spaces; SIPp drops a leading tab and keeps the spaces
#: after it, see write_scenario) in From, Allow and the UUI, Via as
#: two lines with no space after the colon, header names in odd case, extra spaces.
FOLDED = [
    "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch];rport",
    f"VIA:{EDGE_VIA}",
    "Max-Forwards  :   70",
    'From: "Genesys Caller"',
    "\t   <sip:+13175559876@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]",
    "TO: <sip:[service]@[remote_ip]:[remote_port]>",
    "CALL-ID: [call_id]",
    "Cseq: 1 INVITE",
    "contact:    <sip:genesys@[local_ip]:[local_port];transport=[transport]>",
    "Allow: INVITE, ACK, CANCEL,",
    "\t BYE, OPTIONS, REFER, NOTIFY, INFO",
    "x-Inin-Cnv: 5ee2f000-0000-4000-8000-[pid][call_number]",
    f"User-to-User: 00{HEX}",
    "\t  ;encoding=hex",
    "content-type: application/sdp",
    "CONTENT-LENGTH: [len]",
]
ECHO_CHECKS = (
    # both Via values come back, the edge one (second) untouched; the From tag; the To gets a tag
    Check("echo_edge_via", r"z9hG4bK-edge-[0-9]+;received=127\.0\.0\.1"),
    Check("echo_from_tag", r"tag=[0-9]+SIPpTag00[0-9]+", "From"),
    Check("echo_to_uri", r"<sip:\+19999990001@127\.0\.0\.1:[0-9]+>;tag=", "To"),
)


def _unfold(value: str) -> str:
    """RFC 3261 §7.3.1: a continuation line is equivalent to one SP."""
    return re.sub(r"[ \t]*\r\n[ \t]+", " ", value)


@pytest.mark.parametrize("headers", [COMPACT, FOLDED], ids=["compact", "folded"])
async def test_unusual_but_valid_invite_is_taken_back_and_echoed(tmp_path: Path, headers: list[str]) -> None:
    refer = (
        Check("refer_to_dialog_target", r"^REFER sip:genesys@127\.0\.0\.1:[0-9]+;transport=UDP SIP/2\.0"),
        Check("refer_uui", f"^ *{ere(expected_refer_to(TEXT))}$", "Refer-To"),
    )
    run = await run_calls(
        tmp_path,
        lambda _port: write_scenario(tmp_path / "fmt.xml", headers, ok=ECHO_CHECKS, refer=refer),
        extra=("-trace_msg", "-message_file", "messages.log"),
    )
    run.assert_all_taken_back()
    for row in run.records:
        assert (row["caller"], row["dnis"], row["uui_in"]) == ("+13175559876", "+19999990001", TEXT)
        assert row["conversation_id"].startswith("5ee2f000-0000-4000-8000-")
    invites = {_parse(e).call_id: (e, _parse(e)) for e in run.received("INVITE ")}
    assert len(invites) == CALLS
    # what SIPp put on the wire (the device's trace holds the parsed, unfolded message)
    wire = (tmp_path / "messages.log").read_text()
    if headers is FOLDED:
        assert '"Genesys Caller"\n   <sip:' in wire.replace("\r\n", "\n")
    else:
        assert "\ni:   " in wire.replace("\r\n", "\n")
    oks = [m for m in run.sent("SIP/2.0 200 ") if m.cseq.method == "INVITE"]
    assert len(oks) == CALLS
    for ok in oks:
        _entry, invite = invites[ok.call_id]
        _assert_echoed(invite, ok)
    for refer_request in run.sent("REFER "):
        _entry, invite = invites[refer_request.call_id]
        # the device is the UAS: From/To of its requests are the INVITE's To (+ its tag) / From
        assert _unfold(refer_request.headers.get_raw("To")[0]) == _unfold(invite.headers.get_raw("From")[0])
        assert refer_request.from_.uri == invite.to.uri


def _assert_echoed(invite: Request | Response, ok: Request | Response) -> None:
    """RFC 3261 §8.2.6.2: Via values in order (the top one may gain received/rport, §18.2.1), From and
    Call-ID and CSeq as in the request, To with our tag added."""
    sent_vias, echoed_vias = invite.headers.get_all("Via"), ok.headers.get_all("Via")
    assert len(echoed_vias) == len(sent_vias) == 2
    assert echoed_vias[1] == sent_vias[1]
    assert echoed_vias[0].startswith(sent_vias[0].removesuffix("rport"))
    assert ok.top_via.branch == invite.top_via.branch
    assert _unfold(ok.headers.get_raw("From")[0]) == _unfold(invite.headers.get_raw("From")[0])
    assert ok.call_id == invite.call_id
    assert (ok.cseq.seq, ok.cseq.method) == (1, "INVITE")
    assert ok.to.uri == invite.to.uri and invite.to.tag is None and ok.to.tag


# ------------------------------------------------------------------------------- 3. Record-Route, Contact

CONTACT_URI = "sip:genesys@[local_ip]:[local_port];transport=udp;gcdlg=abc123;x-unknown=1"
ELSEWHERE_URI = "sip:genesys@127.0.0.1:9;transport=udp;gcdlg=abc123;x-unknown=1"
#: The Record-Route set as the device sees it: the proxy nearest to the device first (it added its value last)
NEAR = "<sip:[local_ip]:[local_port];lr;ftag=abc;x-foo=bar>"
FAR = "<sip:127.0.0.1:9;transport=udp;lr;x-edge=2;ftag=abc>"
ROUTE_FORMS = {
    # two Record-Route lines; the Contact is SIPp itself
    "two-lines": ([f"Record-Route: {NEAR}", f"Record-Route: {FAR}"], CONTACT_URI),
    # one comma-joined line; the Contact is behind the proxies (unreachable): only the Route set reaches SIPp
    "one-line-contact-behind-proxy": ([f"Record-Route: {NEAR},{FAR}"], ELSEWHERE_URI),
}


def _routing_checks(method: str, prefix: str, uri: str, routes: list[str]) -> tuple[Check, ...]:
    return (
        Check(f"{prefix}_ruri", f"^{method} {ere(uri)} SIP/2\\.0"),
        # two Route lines, in this order ("[[:space:]]Route" is not "Record-Route")
        Check(
            f"{prefix}_routes", f"[[:space:]]Route: {ere(routes[0])}[^<]*[[:space:]]Route: {ere(routes[1])}"
        ),
    )


@pytest.mark.parametrize("form", list(ROUTE_FORMS))
async def test_refer_and_bye_follow_contact_and_record_route(tmp_path: Path, form: str) -> None:
    rr_lines, contact = ROUTE_FORMS[form]
    expected: dict[str, Any] = {}

    def build(port: int) -> Path:
        def fill(text: str) -> str:
            return text.replace("[local_ip]", "127.0.0.1").replace("[local_port]", str(port))

        uri, routes = fill(contact), [fill(NEAR), fill(FAR)]
        expected.update(uri=uri, routes=routes, port=port)
        headers = standard_headers(contact=f"<{contact}>;x-header-param=1;expires=60", extra=tuple(rr_lines))
        ok = (Check("ok_record_route", f"Record-Route: {ere(routes[0])}[^<]*{ere(routes[1])}"),)
        return write_scenario(
            tmp_path / "routes.xml", headers, ok=ok,
            refer=_routing_checks("REFER", "refer", uri, routes),
            device_bye=_routing_checks("BYE", "bye", uri, routes),
        )  # fmt: skip

    run = await run_calls(tmp_path, build, grace="0.3s")
    run.assert_all_taken_back(end_reason="local-bye")
    assert all(row["bye_status"] == 200 for row in run.records)
    ok = next(m for m in run.sent("SIP/2.0 200 ") if m.cseq.method == "INVITE")
    assert ok.headers.get_all("Record-Route") == expected["routes"]  # §12.1.1: copied, order kept
    for method in ("REFER", "BYE"):
        sent = [e for e in run.trace if e.direction == "out" and e.data.startswith(f"{method} ".encode())]
        assert len(sent) == CALLS
        for entry in sent:
            first_line = entry.data.split(b"\r\n", 1)[0].decode()
            assert first_line == f"{method} {expected['uri']} SIP/2.0"  # the Contact URI, verbatim
            request = _parse(entry)
            assert request.headers.get_all("Route") == expected["routes"]  # in order: we are the UAS
            assert entry.dst[1] == expected["port"]  # loose routing: sent to the first route
