"""Built-in flows: the step models and templates, and flows run end to end against a real SIP/RTP peer."""

from __future__ import annotations

import asyncio
import gc
import re
import wave
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from takeback.device.config import parse_device_config
from takeback.device.flow import If, TakeBack, check_references, render, walk
from takeback.uui import parse_refer_to

from .device_helpers import device_uri, genesys, rows, running_device, wait_for


def _flow(text: str) -> list[object]:
    flow = parse_device_config(text).app.flow
    assert flow is not None
    return list(flow)


def test_render_replaces_known_references_only() -> None:
    assert render("{conversation_id}|{digits}", {"conversation_id": "c", "digits": "12"}) == "c|12"
    assert render("{missing} {{x}}", {}) == "{missing} {{x}}"


@given(
    text=st.text(alphabet=st.sampled_from(list("{}ab_1 |")), max_size=24)
    | st.sampled_from(["{conversation_id}", "{a}{b}", "x{a}y{zz}", "{{a}}", "{1a}"]),
    variables=st.dictionaries(
        st.sampled_from(["a", "b", "ab", "_", "a_1", "conversation_id"]), st.text(max_size=4)
    ),
)
def test_render_equals_one_regex_substitution(text: str, variables: dict[str, str]) -> None:
    """render splits each template once (memoised) and joins: the same text as substituting each match."""
    expected = re.sub(r"\{([A-Za-z_]\w*)\}", lambda m: variables.get(m.group(1), m.group(0)), text)
    assert render(text, variables) == expected


def test_walk_visits_nested_branches_with_their_location() -> None:
    flow = _flow(
        """
app:
  flow:
    - answer
    - take_back: {on_failure: [{if: {variable: uui, empty: true, then: [hangup], else: [{play: x}]}}]}
"""
    )
    locations = [(loc, step.action) for loc, step in walk(flow)]  # type: ignore[attr-defined]
    assert locations == [
        ((0,), "answer"),
        ((1,), "take_back"),
        ((1, "take_back", "on_failure", 0), "if"),
        ((1, "take_back", "on_failure", 0, "if", "then", 0), "hangup"),
        ((1, "take_back", "on_failure", 0, "if", "else", 0), "play"),
    ]
    assert check_references(flow) == []


def test_if_conditions() -> None:
    def holds(condition: str, value: str) -> bool:
        (step,) = _flow(f"app: {{flow: [{{if: {{variable: uui, {condition}}}}}]}}")
        assert isinstance(step, If)
        return step.holds({"uui": value})

    assert holds("equals: '1'", "1") and not holds("equals: '1'", "2")
    assert holds("not_equals: '1'", "2") and not holds("not_equals: '1'", "1")
    assert holds("matches: '\\d+'", "123") and not holds("matches: '\\d+'", "12a")
    assert holds("empty: true", "") and not holds("empty: true", "x")
    assert holds("empty: false", "x") and not holds("empty: false", "")


def test_take_back_defaults_to_the_configured_number() -> None:
    (step,) = _flow("app: {flow: [take_back]}")
    assert isinstance(step, TakeBack) and step.number is None and step.uui is None and step.on_failure == []


BRANCHY = """
access: {dnis: {numbers: [9991]}}
take_back: {bye_grace: 2s}
app:
  flow:
    - answer
    - collect: {max_digits: 1, timeout: 5s, terminator: "", into: choice}
    - if:
        variable: choice
        equals: "1"
        then:
          - record: {path: "rec/{call_id}.wav", max_seconds: 0.3}
          - take_back: {number: "+3311{choice}", uui: "recorded {dnis}"}
        else:
          - play: Goodbye.
          - hangup
    - play: never reached after a successful take back
"""


async def test_if_then_records_and_takes_back_with_templates(tmp_path: Path) -> None:
    async with running_device(tmp_path, BRANCHY) as server, genesys() as peer:
        call, media = await peer.call(device_uri(server, "9991"), headers=[])
        await media.send_dtmf("1")
        await asyncio.wait_for(call.wait_terminated(), 20)
        await wait_for(lambda: not server.calls)
    (seen,) = peer.refers
    target = parse_refer_to(seen.refer_to)
    assert (target.number, target.uui_data) == ("+33111", "recorded 9991")
    (row,) = rows(server)
    assert row["outcome"] == "taken-back"
    (recording,) = (tmp_path / "rec").glob("*.wav")
    assert recording.name == f"{row['call_id']}.wav"
    with wave.open(str(recording)) as wav:
        assert wav.getframerate() == 8000 and wav.getnframes() > 0


async def test_if_else_plays_and_hangs_up_without_refer(tmp_path: Path) -> None:
    async with running_device(tmp_path, BRANCHY) as server, genesys() as peer:
        call, media = await peer.call(device_uri(server, "9991"), headers=[])
        await media.send_dtmf("2")
        assert await asyncio.wait_for(call.wait_terminated(), 20) == "remote-bye"
        await wait_for(lambda: not server.calls)
    assert peer.refers == []
    (row,) = rows(server)
    assert (row["outcome"], row["end_reason"], row["refer_at"]) == ("hangup", "local-bye", None)


async def test_peer_hanging_up_mid_flow_stops_it(tmp_path: Path) -> None:
    async with running_device(tmp_path, BRANCHY) as server, genesys() as peer:
        call, _media = await peer.call(device_uri(server, "9991"), headers=[])
        await call.bye()  # during the collect
        await wait_for(lambda: not server.calls)
    (row,) = rows(server)
    assert (row["outcome"], row["end_reason"]) == ("peer-hangup", "remote-bye")


async def test_builtin_demo_flow_end_to_end(tmp_path: Path) -> None:
    """data/device.yaml's flow: greet (barge-in), collect 4 digits, take back to +33456456456 with them."""
    text = (Path(__file__).resolve().parents[2] / "src" / "takeback" / "data" / "device.yaml").read_text()
    body = text.split("\napp:\n", 1)[1].split("\n\n", 1)[0]
    access = "access: {ip_acl: [127.0.0.0/8], token: {header: CUSTOM-DEVICE-TOKEN, value: '1234567'}}\n"
    async with running_device(tmp_path, access + "app:\n" + body + "\n") as server, genesys() as peer:
        call, media = await peer.call(device_uri(server), cnv="cnv-demo")
        await media.send_dtmf("4321")  # typed during the greeting: barge-in
        await asyncio.wait_for(call.wait_terminated(), 30)
        await wait_for(lambda: not server.calls)
    (seen,) = peer.refers
    target = parse_refer_to(seen.refer_to)
    assert (target.number, target.uui_data) == ("+33456456456", "cnv-demo|4321")
    assert rows(server)[0]["outcome"] == "taken-back"


async def test_a_finished_call_leaves_no_reference_cycles(tmp_path: Path) -> None:
    """Every object of a finished call is freed by reference counting, not left to the cyclic collector:
    at hundreds of calls a second, cycles meant ~45 objects per call (the call, its media session, SDP and
    SIP messages) waiting for the next collection, and collections pausing the loop for ~8 ms each."""
    text = (Path(__file__).resolve().parents[2] / "src" / "takeback" / "data" / "device.yaml").read_text()
    body = text.split("\napp:\n", 1)[1].split("\n\n", 1)[0]
    access = "access: {ip_acl: [127.0.0.0/8], token: {header: CUSTOM-DEVICE-TOKEN, value: '1234567'}}\n"
    async with running_device(tmp_path, access + "app:\n" + body + "\n") as server, genesys() as peer:
        gc.collect()
        call, media = await peer.call(device_uri(server), cnv="cnv-cycles")
        await media.send_dtmf("4321")
        await asyncio.wait_for(call.wait_terminated(), 30)
        await wait_for(lambda: not server.calls)
        del call, media
        for ua in (server.ua, peer.ua):  # Timers J/K/L: the transactions outliving the call end now
            ua.core.handle_timer(ua.loop.time() + 64)
            assert ua.core.transaction_count == 0 and ua.core.dialog_count == 0
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            gc.collect()
            ours = [o for o in gc.garbage if type(o).__module__.startswith("takeback.")]
            left = sorted({type(o).__qualname__ for o in ours})
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
    assert rows(server)[0]["outcome"] == "taken-back"
    assert left == []
