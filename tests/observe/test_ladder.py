"""The ladder model and its terminal drawing, on the synthetic take-back call of ``scenario``."""

from __future__ import annotations

import io
import itertools
import re

import pytest

from takeback.observe.ladder import Ladder, build_ladder, display_text
from takeback.observe.ladder_text import layout, print_ladder, render_rich, render_text
from takeback.observe.trace import SipTrace, TraceEntry

from .scenario import (
    CALL_ID_A,
    CALL_ID_B,
    CALLER,
    CONVERSATION,
    DEVICE,
    EXPECTED_LABELS,
    GENESYS,
    NAMES,
    START,
    in_dialog_from_device,
    notify,
    recorded_trace,
)


@pytest.fixture
def ladder() -> Ladder:
    return build_ladder(recorded_trace(), NAMES)


def test_arrows_in_order_once_each_with_retransmission_marked(ladder: Ladder) -> None:
    assert [arrow.label for arrow in ladder.arrows] == EXPECTED_LABELS
    assert [arrow.number for arrow in ladder.arrows] == list(range(1, 13))
    assert [arrow.retransmission for arrow in ladder.arrows] == [False] * 4 + [True] + [False] * 7
    assert ladder.party_names() == ["caller", "genesys", "device"]
    assert [(arrow.src, arrow.dst) for arrow in ladder.arrows[:3]] == [(0, 1), (1, 2), (2, 1)]
    assert ladder.start == START and ladder.arrows[4].time == pytest.approx(0.52)
    assert ladder.call_ids == [CALL_ID_A, CALL_ID_B]
    assert ladder.arrows[0].caption == "INVITE (SDP) · CSeq 1"
    assert ladder.arrows[6].caption == "200 OK (SDP) · CSeq 2 INVITE"
    assert ladder.arrows[4].caption.startswith("[retrans] INVITE")
    assert [arrow.style for arrow in ladder.arrows[2:7]] == [
        "failure",
        "request",
        "retrans",
        "provisional",
        "success",
    ]


def test_parties_are_learned_from_the_recorders_when_unnamed() -> None:
    ladder = build_ladder(recorded_trace())
    assert ladder.party_names() == ["127.0.0.1:5060", "genesys", "device"]
    assert ladder.parties[1].addresses == (GENESYS,)


def test_columns_fix_the_order_and_unknown_addresses_get_their_own() -> None:
    ladder = build_ladder(recorded_trace(), {DEVICE: "device"}, columns=["device", "nobody"])
    assert ladder.party_names() == ["device", "nobody", "127.0.0.1:5060", "genesys"]


def test_address_spellings_are_normalised() -> None:
    trace = SipTrace()
    trace.record(
        "out", "UDP", ("::ffff:127.0.0.1", 5070), ("0:0:0:0:0:0:0:1", 5080), in_dialog_from_device("BYE", 1)
    )
    ladder = build_ladder(trace, {("127.0.0.1", 5070): "genesys", ("::1", 5080): "device"})
    assert ladder.party_names() == ["genesys", "device"]


def test_call_id_filter_and_dedupe_switch() -> None:
    assert [arrow.call_id for arrow in build_ladder(recorded_trace(), call_ids=[CALL_ID_A]).arrows] == [
        CALL_ID_A
    ]
    assert len(build_ladder(recorded_trace(), dedupe=False).arrows) == 24


def notes_of(ladder: Ladder, number: int) -> dict[str, str]:
    return {note.kind: note.text for note in ladder.arrows[number - 1].notes}


def test_key_headers_are_called_out_decoded(ladder: Ladder) -> None:
    invite = notes_of(ladder, 2)
    assert invite["cnv"] == f"x-inin-cnv: {CONVERSATION}"
    assert "Call.UUIData='Case-12345'" in invite["uui"] and "pd=00" in invite["uui"]
    assert invite["sdp"].startswith("SDP c=127.0.0.1 audio 20000 RTP/AVP 0 8 101")
    assert "realm=device.example" in notes_of(ladder, 3)["digest"]
    credentials = notes_of(ladder, 4)["digest"]
    assert "username=genesys" in credentials and "0123456789abcdef" not in credentials  # no response hash
    refer = notes_of(ladder, 8)["refer-to"]
    assert "+33456456456" in refer and "UUI='This is my data'" in refer
    assert "spelling=rfc" in refer and "RFC-correct" in refer
    assert notes_of(ladder, 10)["sipfrag"].startswith("sipfrag: 100 Trying; Event: refer; active")
    assert notes_of(ladder, 11)["sipfrag"].startswith("sipfrag: 200 OK")
    assert all(note.level == "info" for arrow in ladder.arrows for note in arrow.notes)


def single(data: bytes) -> Ladder:
    trace = SipTrace()
    trace.record("out", "UDP", DEVICE, GENESYS, data, timestamp=START)
    return build_ladder(trace, NAMES)


@pytest.mark.parametrize(
    ("refer_to", "expected"),
    [
        (
            "<sip:+33456456456@localhost?User-to-User%3D0054686973%3Bencoding%3Dhex>",
            "spelling=escaped-equals",
        ),
        ("sip:+33456456456@localhost?User-to-User=0054686973%3Bencoding%3Dhex", "not-bracketed"),
    ],
)
def test_non_rfc_refer_to_is_a_warning(refer_to: str, expected: str) -> None:
    (note,) = single(in_dialog_from_device("REFER", 5, ("Refer-To", refer_to))).arrows[0].notes
    assert note.level == "warn" and "NOT RFC-correct" in note.text and expected in note.text
    assert "+33456456456" in note.text and "UUI='This'" in note.text


def test_unusable_uui_and_failed_sipfrag_are_warnings() -> None:
    bad_uui = single(in_dialog_from_device("INFO", 5, ("User-to-User", "zz;encoding=hex"))).arrows[0].notes
    assert [(note.kind, note.level) for note in bad_uui] == [("uui", "warn")]
    assert "no Call.UUIData" in bad_uui[0].text
    frag = notify(4, "terminated;reason=noresource", "SIP/2.0 404 Not Found")
    (note,) = single(frag).arrows[0].notes
    assert (note.kind, note.level) == ("sipfrag", "warn") and note.text.startswith("sipfrag: 404 Not Found")


def test_garbage_still_gets_an_arrow() -> None:
    arrow = single(b"HELLO\x1b[2J world\r\n\r\n").arrows[0]
    assert arrow.kind == "unparsed" and arrow.style == "unparsed" and arrow.notes[0].level == "warn"
    assert "\x1b" not in render_text(single(b"HELLO\x1b[2J world\r\n\r\n"))


def test_keepalives_are_left_out() -> None:
    trace = SipTrace()
    trace.record("out", "TCP", DEVICE, GENESYS, b"\r\n\r\n")
    assert build_ladder(trace).arrows == ()


def arrow_rows(text: str) -> list[tuple[str, str, int, int]]:
    """(time, label, from column, to column) for every arrow drawn: the label is on the line above."""
    lines = text.splitlines()
    centres = sorted(match.start() + len(match.group()) // 2 for match in re.finditer(r"\S+", lines[0]))

    def nearest(position: int) -> int:
        return min(range(len(centres)), key=lambda index: abs(centres[index] - position))

    rows = []
    for above, line in itertools.pairwise(lines):
        match = re.search(r"\|([-~]*>|<[-~]*)\|", line)
        if match is None:
            continue
        left, right = match.start(), match.end() - 1
        start, end = (left, right) if match.group(1).endswith(">") else (right, left)
        rows.append((line.split()[0], above[left + 1 : right].strip(), nearest(start), nearest(end)))
    return rows


def test_text_ladder_draws_the_arrows_in_order(ladder: Ladder) -> None:
    text = render_text(ladder)
    assert text.splitlines()[0].split() == ["caller", "genesys", "device"]
    rows = arrow_rows(text)
    assert [
        label.removeprefix("[retrans] ").split(" (")[0].split(" ·")[0] for _, label, _, _ in rows
    ] == EXPECTED_LABELS
    assert [(src, dst) for _, _, src, dst in rows] == [
        (0, 1), (1, 2), (2, 1), (1, 2), (1, 2), (2, 1), (2, 1), (2, 1), (1, 2), (1, 2), (1, 2), (2, 1),
    ]  # fmt: skip
    assert [time for time, _, _, _ in rows][:5] == ["+0.000s", "+0.010s", "+0.011s", "+0.020s", "+0.520s"]
    assert "~~~~>" in text  # the retransmission is drawn differently
    assert f"x-inin-cnv: {CONVERSATION}" in text and "Call.UUIData='Case-12345'" in text
    assert all(line == line.rstrip() for line in text.splitlines())


def test_narrow_width_bounds_every_line(ladder: Ladder) -> None:
    text = render_text(ladder, width=100)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert len(arrow_rows(text)) == 12
    assert "x-inin-cnv" not in render_text(ladder, notes=False)


def test_rich_rendering_has_the_same_characters_and_no_markup_injection() -> None:
    trace = SipTrace()
    hostile = in_dialog_from_device("INFO", 9, ("Subject", "[bold red]boom[/] \x1b[31m\u202egnp.exe"))
    trace.record("out", "UDP", DEVICE, GENESYS, hostile, timestamp=START)
    ladder = build_ladder(recorded_trace(), NAMES)
    assert render_rich(ladder, width=160).plain == render_text(ladder, width=160)
    hostile_ladder = build_ladder(trace, NAMES)
    assert render_rich(hostile_ladder).plain == render_text(hostile_ladder)
    assert "\x1b" not in render_text(hostile_ladder)


def test_print_ladder_falls_back_to_plain_text_off_a_terminal(ladder: Ladder) -> None:
    stream = io.StringIO()
    print_ladder(ladder, file=stream)
    assert stream.getvalue() == render_text(ladder)
    coloured = io.StringIO()
    print_ladder(ladder, file=coloured, color=True)
    assert "\x1b[" in coloured.getvalue() and "INVITE" in coloured.getvalue()


def test_self_addressed_message_is_a_loop() -> None:
    trace = SipTrace()
    trace.record("out", "UDP", DEVICE, DEVICE, in_dialog_from_device("OPTIONS", 1), timestamp=START)
    ladder = build_ladder(trace, NAMES)
    assert (ladder.arrows[0].src, ladder.arrows[0].dst) == (0, 0)
    assert "<-'" in render_text(ladder)


def test_empty_ladder_renders() -> None:
    empty = build_ladder([])
    assert empty.arrows == () and empty.start is None
    assert render_text(empty) == "(no SIP messages)\n"
    assert layout(build_ladder([], columns=["device"]))[0] == [(" " * 16, None), ("device", "party")]


def test_display_text_escapes_controls_and_bidi() -> None:
    assert display_text("a\x1b[0m\u202eb\r\nc") == "a\\x1b[0m\\u202eb\\r\\nc"
    assert display_text("a\r\nb\x00", multiline=True) == "a\nb\\x00"
    assert display_text("tab\there") == "tab here"


def test_entries_from_the_other_side_only() -> None:
    entry = TraceEntry(START, "in", "UDP", CALLER, GENESYS, in_dialog_from_device("BYE", 3), "genesys")
    ladder = build_ladder([entry])
    assert ladder.party_names() == ["127.0.0.1:5060", "genesys"]
