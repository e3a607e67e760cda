"""Error hierarchy: what the SIP layer catches and answers."""

from __future__ import annotations

from takeback.sdp import InvalidAnswer, NegotiationError, NoCommonCodec, SdpError, SdpParseError, SrtpMismatch


def test_hierarchy_and_statuses() -> None:
    assert issubclass(SdpParseError, ValueError) and issubclass(SdpParseError, SdpError)
    for error in (NoCommonCodec, SrtpMismatch, InvalidAnswer):
        assert issubclass(error, NegotiationError) and issubclass(error, SdpError)
        assert not issubclass(error, ValueError)
        assert (error("x").status, error("x").reason) == (488, "Not Acceptable Here")


def test_parse_error_message_and_line_number() -> None:
    assert str(SdpParseError("bad", 3)) == "line 3: bad" and SdpParseError("bad", 3).line_number == 3
    assert str(SdpParseError("bad")) == "bad" and SdpParseError("bad").line_number is None
