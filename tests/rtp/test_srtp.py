"""SRTP/SRTCP (RFC 3711): the RFC's own vectors, round trips, attacks, and libsrtp as the referee."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from takeback.rtp.srtp import (
    LABEL_RTP_AUTHENTICATION,
    LABEL_RTP_ENCRYPTION,
    LABEL_RTP_SALT,
    SUITES,
    SessionKeys,
    SrtpAuthenticationError,
    SrtpContext,
    SrtpError,
    SrtpFormatError,
    SrtpReplayError,
    _Transform,
    aes_cm_keystream,
    derive_key,
)

try:
    import pylibsrtp
except ImportError:  # the test extra installs it; without it only the cross-checks are skipped
    pylibsrtp = None

needs_libsrtp = pytest.mark.skipif(pylibsrtp is None, reason="pylibsrtp (libsrtp) is not installed")
MASTER = bytes(range(1, 31))  # key || salt, 30 bytes
SUITE_80 = "AES_CM_128_HMAC_SHA1_80"
SUITE_32 = "AES_CM_128_HMAC_SHA1_32"


def rtp(sequence: int, payload: bytes = b"\xff" * 160, *, ssrc: int = 0x1234ABCD, pt: int = 0) -> bytes:
    return struct.pack("!BBHII", 0x80, pt, sequence, sequence * 160 & 0xFFFFFFFF, ssrc) + payload


def rtcp_sr(ssrc: int = 0x1234ABCD) -> bytes:
    body = struct.pack("!IIIII", 0xE1234567, 0x89ABCDEF, 1600, 10, 1600)
    return struct.pack("!BBHI", 0x80, 200, 6, ssrc) + body


def pair(suite: str = SUITE_80, master: bytes = MASTER) -> tuple[SrtpContext, SrtpContext]:
    return SrtpContext(suite, master), SrtpContext(suite, master)


# --- RFC vectors ------------------------------------------------------------------------------------------


def test_rfc3711_b2_aes_cm_keystream() -> None:
    key = bytes.fromhex("2B7E151628AED2A6ABF7158809CF4F3C")
    offset = bytes.fromhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000")
    assert aes_cm_keystream(key, offset, 48).hex().upper() == (
        "E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB41E95B3BB0A2E8DD477901E4FCA894C0"
    )
    tail = aes_cm_keystream(key, offset, 48, first_block=0xFEFF)
    assert tail.hex().upper() == (
        "EC8CDF7398607CB0F2D21675EA9EA1E4362B7C3C6773516318A077D7FC5073AE6A2CC3787889374FBEB4C81B17BA6C44"
    )


def test_rfc3711_b2_through_the_packet_path() -> None:
    """The same keystream, produced the way packets get it: SSRC 0, index 0, salt F0..FD."""
    keys = SessionKeys(
        encryption_key=bytes.fromhex("2B7E151628AED2A6ABF7158809CF4F3C"),
        authentication_key=bytes(20),
        salt=bytes.fromhex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD"),
    )
    transform = _Transform(keys, 10)
    assert transform.crypt(transform.salt, bytes(40)).hex().upper() == (
        "E03EAD0935C95E80E166B16DD92B4EB4D23513162B02D0F72A43A2FE4A5F97AB41E95B3BB0A2E8DD"
    )


def test_rfc3711_b3_key_derivation() -> None:
    key = bytes.fromhex("E1F97A0D3E018BE0D64FA32C06DE4139")
    salt = bytes.fromhex("0EC675AD498AFEEBB6960B3AABE6")
    assert derive_key(key, salt, LABEL_RTP_ENCRYPTION, 16).hex().upper() == "C61E7A93744F39EE10734AFE3FF7A087"
    assert derive_key(key, salt, LABEL_RTP_SALT, 14).hex().upper() == "30CBBC08863D8C85D49DB34A9AE1"
    assert derive_key(key, salt, LABEL_RTP_AUTHENTICATION, 94).hex().upper() == (
        "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE"
        "E049646C43D9327AD175578EF72270986371C10C9A369AC2F94A8C5FBCDDDC25"
        "6D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2"
    )
    keys = SessionKeys.derive(SUITES[SUITE_80], key + salt)
    assert keys.authentication_key.hex().upper() == "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"


def test_rfc6188_aes256_key_derivation() -> None:
    master = bytes.fromhex(
        "f0f04914b513f2763a1b1fa130f10e2998f6f6e43e4309d1e622a0e332b9f1b63b04803de51ee7c96423ab5b78d2"
    )
    keys = SessionKeys.derive(SUITES["AES_256_CM_HMAC_SHA1_80"], master)
    assert keys.encryption_key.hex() == "5ba1064e30ec51613cad926c5a28ef731ec7fb397f70a960653caf06554cd8c4"
    assert keys.salt.hex() == "fa31791685ca444a9e07c6c64e93"
    assert keys.authentication_key.hex() == "fd9c32d39ed5fbb5a9dc96b30818454d1313dc05"


# --- round trips ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_round_trip_every_suite(suite: str) -> None:
    master = bytes(range(SUITES[suite].master_length))
    sender, receiver = pair(suite, master)
    for sequence in range(100, 110):
        packet = rtp(sequence, bytes([sequence]) * (sequence - 90))
        protected = sender.protect(packet)
        assert len(protected) == len(packet) + SUITES[suite].rtp_tag_length
        assert protected[:12] == packet[:12] and protected[12:-4] != packet[12:]
        assert receiver.unprotect(protected) == packet
    report = rtcp_sr()
    assert receiver.unprotect_rtcp(sender.protect_rtcp(report)) == report


def test_tag_lengths() -> None:
    assert len(SrtpContext(SUITE_80, MASTER).protect(rtp(1))) == 172 + 10
    assert len(SrtpContext(SUITE_32, MASTER).protect(rtp(1))) == 172 + 4
    # SRTCP keeps the 80-bit tag for the _32 suite (RFC 3711 §7.5; libsrtp agrees, see below).
    assert len(SrtpContext(SUITE_32, MASTER).protect_rtcp(rtcp_sr())) == 28 + 4 + 10


def test_headers_with_csrcs_extension_and_padding_stay_in_clear() -> None:
    sender, receiver = pair()
    csrcs = struct.pack("!II", 1, 2)
    extension = struct.pack("!HH", 0xBEDE, 1) + b"\x10\xaa\x00\x00"
    header = struct.pack("!BBHII", 0xB2, 0x80 | 8, 7, 1120, 0xCAFE) + csrcs + extension  # P, X, CC=2
    packet = header + b"\x01\x02\x03\x00\x00\x03"  # three octets of padding
    protected = sender.protect(packet)
    assert protected.startswith(header)
    assert receiver.unprotect(protected) == packet


def test_empty_payload() -> None:
    sender, receiver = pair()
    assert receiver.unprotect(sender.protect(rtp(9, b""))) == rtp(9, b"")


def test_each_ssrc_has_its_own_state() -> None:
    sender, receiver = pair()
    for sequence in (10, 11):
        for ssrc in (1, 2):
            packet = rtp(sequence, ssrc=ssrc)
            assert receiver.unprotect(sender.protect(packet)) == packet
    assert receiver.rollover_counter(1, sent=False) == 0
    assert receiver.rollover_counter(3, sent=False) is None


# --- attacks and errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("position", [1, 3, 11, 12, 100, -1, -10])
def test_any_flipped_bit_fails_authentication(position: int) -> None:
    sender, receiver = pair()
    protected = bytearray(sender.protect(rtp(5)))
    protected[position] ^= 0x01
    with pytest.raises(SrtpAuthenticationError):
        receiver.unprotect(bytes(protected))


def test_wrong_key_fails_and_leaves_no_state() -> None:
    sender = SrtpContext(SUITE_80, MASTER)
    receiver = SrtpContext(SUITE_80, bytes(30))
    with pytest.raises(SrtpAuthenticationError):
        receiver.unprotect(sender.protect(rtp(5)))
    assert receiver.rollover_counter(0x1234ABCD, sent=False) is None


def test_replay_is_rejected_reordering_is_not() -> None:
    sender, receiver = pair()
    packets = [sender.protect(rtp(sequence)) for sequence in range(1000, 1010)]
    for packet in packets[:5] + packets[7:] + packets[5:7]:  # 1005 and 1006 arrive late
        receiver.unprotect(packet)
    with pytest.raises(SrtpReplayError, match="already received"):
        receiver.unprotect(packets[3])
    later = [sender.protect(rtp(sequence)) for sequence in range(1010, 1200)]
    for packet in later:
        receiver.unprotect(packet)
    with pytest.raises(SrtpReplayError, match="behind the replay window"):
        receiver.unprotect(packets[9])


def test_rollover_across_sequence_wrap() -> None:
    sender, receiver = pair()
    sequences = [*range(65530, 65536), *range(6)]
    packets = [sender.protect(rtp(sequence)) for sequence in sequences]
    assert sender.rollover_counter(0x1234ABCD) == 1
    order = packets[:5] + packets[6:8] + [packets[5]] + packets[8:]  # 65535 arrives after 0 and 1
    assert [receiver.unprotect(packet) for packet in order] == [
        rtp(s) for s in [*sequences[:5], 0, 1, 65535, *range(2, 6)]
    ]
    assert receiver.rollover_counter(0x1234ABCD, sent=False) == 1
    # Many wraps later the index keeps counting.
    for lap in range(2, 4):
        for sequence in (16384, 32768, 49152, 0):
            receiver.unprotect(sender.protect(rtp(sequence)))
        assert receiver.rollover_counter(0x1234ABCD, sent=False) == lap


def test_packets_from_before_the_first_one() -> None:
    sender, receiver = pair()
    sender.protect(rtp(65000))  # lost
    wrapped = sender.protect(rtp(100))  # the sender wrapped: ROC 1
    with pytest.raises(SrtpAuthenticationError):
        receiver.unprotect(wrapped)  # the receiver's first packet is assumed to have ROC 0 (§3.3.1)
    sender, receiver = pair()
    receiver.unprotect(sender.protect(rtp(5)))
    with pytest.raises(SrtpError, match="before the first packet"):
        sender.protect(rtp(65000))  # ROC would be -1
    other_sender, _ = pair()
    with pytest.raises(SrtpReplayError, match="before the first packet"):
        receiver.unprotect(other_sender.protect(rtp(65000)))


@pytest.mark.parametrize("packet", [b"", b"\x80\x00", b"\x40" + bytes(30), b"\x81" + bytes(13)])
def test_malformed_rtp(packet: bytes) -> None:
    sender, receiver = pair()
    with pytest.raises(SrtpFormatError):
        sender.protect(packet)
    with pytest.raises(SrtpError):
        receiver.unprotect(packet)


def test_bad_configuration() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        SrtpContext("F8_128_HMAC_SHA1_80", MASTER)
    with pytest.raises(ValueError, match="30 bytes"):
        SrtpContext(SUITE_80, MASTER[:29])
    with pytest.raises(ValueError, match="64"):
        SrtpContext(SUITE_80, MASTER, replay_window=32)
    assert SrtpContext("aes_cm_128_hmac_sha1_80", MASTER).suite is SUITES[SUITE_80]


# --- SRTCP ---------------------------------------------------------------------------------------------


def test_srtcp_layout_and_index() -> None:
    sender, receiver = pair()
    report = rtcp_sr()
    first, second = sender.protect_rtcp(report), sender.protect_rtcp(report)
    assert first[:8] == report[:8] and first[8:28] != report[8:]
    assert first[28:32] == b"\x80\x00\x00\x00" and second[28:32] == b"\x80\x00\x00\x01"  # E=1, index
    assert receiver.unprotect_rtcp(second) == report
    assert receiver.unprotect_rtcp(first) == report  # within the window
    with pytest.raises(SrtpReplayError):
        receiver.unprotect_rtcp(first)


def test_srtcp_unencrypted() -> None:
    sender, receiver = pair()
    report = rtcp_sr()
    protected = sender.protect_rtcp(report, encrypt=False)
    assert protected[:28] == report and protected[28:32] == b"\x00\x00\x00\x00"
    assert receiver.unprotect_rtcp(protected) == report


def test_srtcp_tamper_and_format() -> None:
    sender, receiver = pair()
    protected = bytearray(sender.protect_rtcp(rtcp_sr()))
    protected[29] ^= 0x80  # the E flag is authenticated too
    with pytest.raises(SrtpAuthenticationError):
        receiver.unprotect_rtcp(bytes(protected))
    with pytest.raises(SrtpFormatError):
        receiver.unprotect_rtcp(b"\x80\xc8\x00\x01" + bytes(10))
    with pytest.raises(SrtpFormatError):
        sender.protect_rtcp(b"\x80\xc8")


# --- libsrtp as the referee ---------------------------------------------------------------------------


def libsrtp_sessions(suite: str, master: bytes) -> tuple[Any, Any]:
    assert pylibsrtp is not None
    Policy = pylibsrtp.Policy
    profile = {
        SUITE_80: Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
        SUITE_32: Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
    }[suite]
    outbound = pylibsrtp.Session(Policy(key=master, ssrc_type=Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile))
    inbound = pylibsrtp.Session(Policy(key=master, ssrc_type=Policy.SSRC_ANY_INBOUND, srtp_profile=profile))
    return outbound, inbound


@needs_libsrtp
@pytest.mark.parametrize("suite", [SUITE_80, SUITE_32])
def test_libsrtp_reads_ours_and_we_read_libsrtp(suite: str) -> None:
    ours_out, ours_in = pair(suite)
    lib_out, lib_in = libsrtp_sessions(suite, MASTER)
    for sequence in [*range(65500, 65536), *range(40)]:
        packet = rtp(sequence, bytes([sequence & 0xFF]) * (sequence % 200))
        protected = ours_out.protect(packet)
        assert protected == lib_out.protect(packet)  # byte for byte
        assert lib_in.unprotect(protected) == packet
        assert ours_in.unprotect(protected) == packet
    for count in range(3):
        report = rtcp_sr() + bytes(count * 4)
        assert lib_in.unprotect_rtcp(ours_out.protect_rtcp(report)) == report
        assert ours_in.unprotect_rtcp(lib_out.protect_rtcp(report)) == report


@needs_libsrtp
@pytest.mark.parametrize("suite", [SUITE_80, SUITE_32])
def test_libsrtp_rejects_what_we_reject(suite: str) -> None:
    ours_out, _ = pair(suite)
    _, lib_in = libsrtp_sessions(suite, MASTER)
    protected = ours_out.protect(rtp(77))
    lib_in.unprotect(protected)
    with pytest.raises(pylibsrtp.Error, match="replay"):
        lib_in.unprotect(protected)
    tampered = bytearray(ours_out.protect(rtp(78)))
    tampered[-1] ^= 1
    with pytest.raises(pylibsrtp.Error, match="authentication"):
        lib_in.unprotect(bytes(tampered))


@needs_libsrtp
@settings(max_examples=60, deadline=None)
@given(
    suite=st.sampled_from([SUITE_80, SUITE_32]),
    master=st.binary(min_size=30, max_size=30),
    ssrc=st.integers(0, 0xFFFFFFFF),
    start=st.integers(0, 0xFFFF),
    payloads=st.lists(st.binary(max_size=300), min_size=1, max_size=6),
)
def test_property_round_trip_and_libsrtp_agree(
    suite: str, master: bytes, ssrc: int, start: int, payloads: list[bytes]
) -> None:
    sender, receiver = pair(suite, master)
    lib_out, lib_in = libsrtp_sessions(suite, master)
    for offset, payload in enumerate(payloads):
        packet = rtp((start + offset) & 0xFFFF, payload, ssrc=ssrc)
        protected = sender.protect(packet)
        assert protected == lib_out.protect(packet)
        assert receiver.unprotect(protected) == packet
        assert lib_in.unprotect(protected) == packet
    report = rtcp_sr(ssrc) + payloads[0][: len(payloads[0]) // 4 * 4]
    assert receiver.unprotect_rtcp(sender.protect_rtcp(report)) == report
