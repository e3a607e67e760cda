"""SDES a=crypto (RFC 4568): grammar, serialization, key checks, answer selection."""

from __future__ import annotations

import base64

import pytest

from takeback.sdp import CryptoAttribute, KeyParams, SdpParseError
from takeback.sdp.crypto import select_crypto

RFC_KEY = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"


def counting_source(length: int) -> bytes:
    return bytes(range(length))


def test_rfc4568_example_line() -> None:
    value = f"1 AES_CM_128_HMAC_SHA1_80 inline:{RFC_KEY}|2^20|1:32"
    crypto = CryptoAttribute.parse(value)
    assert crypto.tag == 1 and crypto.suite == "AES_CM_128_HMAC_SHA1_80"
    params = crypto.key_params[0]
    assert (params.method, params.key_salt, params.lifetime, params.mki) == (
        "inline",
        RFC_KEY,
        "2^20",
        "1:32",
    )
    assert params.lifetime_packets == 2**20
    assert len(crypto.key) == 30 and crypto.has_usable_key
    assert str(crypto) == value


def test_multiple_keys_and_session_parameters() -> None:
    value = (
        f"2 F8_128_HMAC_SHA1_80 inline:{RFC_KEY}|2^20|1:4;inline:{RFC_KEY}|2^20|2:4 "
        "FEC_ORDER=FEC_SRTP UNENCRYPTED_SRTCP"
    )
    crypto = CryptoAttribute.parse(value)
    assert [params.mki for params in crypto.key_params] == ["1:4", "2:4"]
    assert crypto.session_params == ("FEC_ORDER=FEC_SRTP", "UNENCRYPTED_SRTCP")
    assert str(crypto) == value


def test_mki_without_lifetime_and_decimal_lifetime() -> None:
    assert KeyParams.parse(f"inline:{RFC_KEY}|1:4") == KeyParams(RFC_KEY, None, "1:4")
    assert KeyParams.parse(f"inline:{RFC_KEY}|1048576").lifetime_packets == 1048576
    assert KeyParams(RFC_KEY).lifetime_packets is None


def test_other_key_methods_are_kept_opaque() -> None:
    crypto = CryptoAttribute.parse("1 AES_CM_128_HMAC_SHA1_80 uri:https://keys.example/k1")
    assert crypto.key_params[0].method == "uri" and crypto.key_params[0].key_salt == "https://keys.example/k1"
    assert not crypto.has_usable_key
    assert str(crypto) == "1 AES_CM_128_HMAC_SHA1_80 uri:https://keys.example/k1"


@pytest.mark.parametrize(
    "value",
    [
        "1 AES_CM_128_HMAC_SHA1_80",
        "x AES_CM_128_HMAC_SHA1_80 inline:" + RFC_KEY,
        "1234567890 AES_CM_128_HMAC_SHA1_80 inline:" + RFC_KEY,
        "1 AES-CM inline:" + RFC_KEY,
        "1 AES_CM_128_HMAC_SHA1_80 inline:not*base64",
        "1 AES_CM_128_HMAC_SHA1_80 " + RFC_KEY,
        "1 AES_CM_128_HMAC_SHA1_80 inline:" + RFC_KEY + "|2^20|1:4|extra",
        "1 AES_CM_128_HMAC_SHA1_80 inline:" + RFC_KEY + "|1:4|2^20",
        "1 AES_CM_128_HMAC_SHA1_80 inline:" + RFC_KEY + "|x",
        "1 AES_CM_128_HMAC_SHA1_80 inline:" + RFC_KEY + "|1:1234",
        "1 AES_CM_128_HMAC_SHA1_80 inline:abcde",
    ],
)
def test_malformed_crypto_lines(value: str) -> None:
    with pytest.raises(SdpParseError):
        CryptoAttribute.parse(value)


def test_inline_builds_and_checks_key_length() -> None:
    key = counting_source(30)
    crypto = CryptoAttribute.inline(7, "AES_CM_128_HMAC_SHA1_32", key)
    assert str(crypto) == f"7 AES_CM_128_HMAC_SHA1_32 inline:{base64.b64encode(key).decode()}"
    assert CryptoAttribute.parse(str(crypto)) == crypto and crypto.key == key
    assert len(CryptoAttribute.inline(1, "AEAD_AES_256_GCM", counting_source(44)).key) == 44
    with pytest.raises(ValueError, match="30 bytes"):
        CryptoAttribute.inline(1, "AES_CM_128_HMAC_SHA1_80", counting_source(16))


def test_usable_key_needs_known_suite_and_right_length() -> None:
    short = CryptoAttribute.parse("1 AES_CM_128_HMAC_SHA1_80 inline:" + base64.b64encode(b"x" * 16).decode())
    assert not short.has_usable_key
    unknown = CryptoAttribute.parse(f"1 FANCY_NEW_SUITE inline:{RFC_KEY}")
    assert not unknown.has_usable_key


def test_select_crypto_takes_the_first_acceptable_offered_line() -> None:
    offered = [
        CryptoAttribute.parse(f"1 AES_256_CM_HMAC_SHA1_80 inline:{RFC_KEY}"),  # wrong length for the suite
        CryptoAttribute.parse(f"2 AES_CM_128_HMAC_SHA1_80 inline:{RFC_KEY} UNENCRYPTED_SRTP"),
        CryptoAttribute.parse(f"3 AES_CM_128_HMAC_SHA1_32 inline:{RFC_KEY}"),
        CryptoAttribute.parse(f"4 AES_CM_128_HMAC_SHA1_80 inline:{RFC_KEY}"),
    ]
    chosen = select_crypto(offered, ["AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32"], counting_source)
    assert chosen is not None
    remote, local = chosen
    assert remote.tag == 3 and (local.tag, local.suite) == (3, "AES_CM_128_HMAC_SHA1_32")
    assert local.key == counting_source(30)


def test_select_crypto_reuses_the_current_key_and_needs_a_source() -> None:
    offered = [CryptoAttribute.parse(f"5 AES_CM_128_HMAC_SHA1_80 inline:{RFC_KEY}")]
    current = CryptoAttribute.inline(1, "AES_CM_128_HMAC_SHA1_80", b"k" * 30)
    chosen = select_crypto(offered, ["AES_CM_128_HMAC_SHA1_80"], None, reuse=current)
    assert chosen is not None and chosen[1].tag == 5 and chosen[1].key == b"k" * 30
    assert select_crypto(offered, ["AES_CM_128_HMAC_SHA1_80"], None) is None
    assert select_crypto(offered, ["AEAD_AES_128_GCM"], counting_source) is None


def test_lines_with_an_mki_or_several_keys_are_passed_over() -> None:
    """RFC 4568 §6.1 allows them; our SRTP engines keep one master key without MKI, so the next line wins
    (or, with none left, the offer is refused with 488 rather than failing at media setup)."""
    key = base64.b64encode(bytes(range(30))).decode()
    offered = [
        CryptoAttribute.parse(f"1 AES_CM_128_HMAC_SHA1_80 inline:{key}|2^20|1:4"),
        CryptoAttribute.parse(f"2 AES_CM_128_HMAC_SHA1_80 inline:{key};inline:{key}"),
        CryptoAttribute.parse(f"3 AES_CM_128_HMAC_SHA1_80 inline:{key}"),
    ]
    chosen = select_crypto(offered, ["AES_CM_128_HMAC_SHA1_80"], bytes)
    assert chosen is not None and chosen[0].tag == 3
    assert select_crypto(offered[:2], ["AES_CM_128_HMAC_SHA1_80"], bytes) is None
