"""NegotiatedMedia / Answer: the values a media layer reads."""

from __future__ import annotations

import pytest

from takeback.sdp import PCMU, TELEPHONE_EVENT, Answer, Direction, NegotiatedMedia, parse_sdp

from .samples import GENESYS_OFFER


def test_answer_exposes_the_media_fields() -> None:
    media = NegotiatedMedia(
        codec=PCMU,
        codecs=(PCMU,),
        telephone_event=TELEPHONE_EVENT,
        remote_address="198.51.100.20",
        remote_port=20000,
        ptime=20,
        direction=Direction.RECVONLY,
        held=True,
        media_index=0,
    )
    answer = Answer(parse_sdp(GENESYS_OFFER), media)
    assert bytes(answer) == GENESYS_OFFER
    assert answer.codec is PCMU and answer.telephone_event is TELEPHONE_EVENT
    assert (answer.remote_address, answer.remote_port, answer.ptime) == ("198.51.100.20", 20000, 20)
    assert answer.direction is Direction.RECVONLY and answer.telephone_event_payload_type == 101
    assert media.payload_type == 0 and media.telephone_event_payload_type == 101
    assert not media.is_srtp and media.proto == "RTP/AVP"


def test_without_telephone_event() -> None:
    media = NegotiatedMedia(PCMU, (PCMU,), None, "192.0.2.1", 1, 20, Direction.SENDRECV, False, 0)
    assert media.telephone_event_payload_type is None


def test_media_layer_can_read_the_result() -> None:
    """The media package builds its MediaParams from these attribute names (takeback.media.params)."""
    from takeback.sdp import LocalMedia, negotiate

    media_params = pytest.importorskip("takeback.media.params")
    answer = negotiate(parse_sdp(GENESYS_OFFER), LocalMedia("127.0.0.1", 30000))
    params = media_params.params_from_negotiated(answer.media)
    assert (params.codec, params.payload_type, params.remote, params.dtmf_payload_type) == (
        "PCMU",
        0,
        ("52.129.100.7", 20000),
        101,
    )
    assert params.direction == "sendrecv"
