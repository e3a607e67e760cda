"""SRTP and SRTCP packet protection (RFC 3711) with the SDES suites of RFC 4568 and RFC 6188.

Genesys TLS trunks carry media as SRTP keyed by SDES ``a=crypto`` lines (GENESYS.md §7). This module turns
one master key (the decoded ``inline:`` key || salt) into session keys and protects or unprotects packets:

* key derivation with the AES-CM PRF, key derivation rate 0 (§4.3.1, §4.3.3);
* AES in counter mode (§4.1.1) for encryption, HMAC-SHA1 truncated to 80 or 32 bits for authentication
  (§4.2.1); SRTCP always uses the 80-bit tag (RFC 4568 §6.2.2: only SRTP packets get the short tag);
* the rollover counter and packet index estimation (§3.3.1, Appendix A) and a replay list (§3.3.2) per
  SSRC, for SRTP and SRTCP alike.

The context is sans-IO: bytes in, bytes out, no clock, no global state. Errors are types
(:class:`SrtpAuthenticationError`, :class:`SrtpReplayError`, :class:`SrtpFormatError`) so a receiver can
count and drop. State for a received SSRC is created only once a packet of it has authenticated, so
forged packets cannot fill memory or move the replay window.

Speed: AES-CTR objects of ``cryptography`` take the IV at creation, which costs a key schedule per packet.
Instead one AES-ECB encryptor per session key is made once and fed the packet's counter blocks (ECB of
``IV + j`` *is* the CTR keystream, and ECB keeps no state between whole blocks); the counter blocks are
built with one big-integer multiply, the XOR with one big-integer XOR. The HMAC is a keyed base object
copied per packet, so the key's inner/outer pads are hashed once per session.
"""

from __future__ import annotations

import hmac as _stdlib_hmac
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes
from cryptography.hazmat.primitives.hmac import HMAC

__all__ = [
    "DEFAULT_REPLAY_WINDOW",
    "LABEL_RTCP_AUTHENTICATION",
    "LABEL_RTCP_ENCRYPTION",
    "LABEL_RTCP_SALT",
    "LABEL_RTP_AUTHENTICATION",
    "LABEL_RTP_ENCRYPTION",
    "LABEL_RTP_SALT",
    "SUITES",
    "SessionKeys",
    "SrtpAuthenticationError",
    "SrtpContext",
    "SrtpError",
    "SrtpFormatError",
    "SrtpReplayError",
    "SrtpSuite",
    "aes_cm_keystream",
    "derive_key",
]

# Key derivation labels, RFC 3711 §4.3.1 (SRTP) and §4.3.2 (SRTCP).
LABEL_RTP_ENCRYPTION = 0x00
LABEL_RTP_AUTHENTICATION = 0x01
LABEL_RTP_SALT = 0x02
LABEL_RTCP_ENCRYPTION = 0x03
LABEL_RTCP_AUTHENTICATION = 0x04
LABEL_RTCP_SALT = 0x05

DEFAULT_REPLAY_WINDOW = 128
"""Packets remembered behind the newest one (§3.3.2 asks for at least 64; libsrtp uses 128)."""

_SRTCP_INDEX_LIMIT = 1 << 31  # §3.4: 31-bit SRTCP index; §9.2: rekey before it repeats
_SRTCP_E_FLAG = 1 << 31
_SEQ_SSRC = struct.Struct("!2xH4xI")  # sequence number at offset 2, SSRC at offset 8 (RFC 3550 §5.1)
_WORD = struct.Struct("!I")
_MAX_TABLE_BLOCKS = 128  # covers 2 KB datagrams; longer packets compute their tables on the spot


class SrtpError(Exception):
    """A packet could not be protected or unprotected."""


class SrtpFormatError(SrtpError):
    """Not an RTP/RTCP packet this transform can handle (too short, wrong version, truncated header)."""


class SrtpAuthenticationError(SrtpError):
    """The authentication tag did not verify: wrong key, corrupted or forged packet (§3.3, step 5)."""


class SrtpReplayError(SrtpError):
    """The packet index was seen before or lies behind the replay window (§3.3.2)."""


@dataclass(frozen=True, slots=True)
class SrtpSuite:
    """One SDES crypto-suite: AES-CM key size and HMAC-SHA1 tag lengths in bytes."""

    name: str
    key_length: int
    rtp_tag_length: int
    rtcp_tag_length: int = 10
    salt_length: int = 14  # 112-bit master and session salt (§8.2)
    auth_key_length: int = 20  # 160-bit HMAC-SHA1 session key (§4.2.1)

    @property
    def master_length(self) -> int:
        """Bytes of master key || master salt in the ``inline:`` parameter (RFC 4568 §6.1)."""
        return self.key_length + self.salt_length


# RFC 4568 §6.2.1-6.2.2 (AES_CM_128), RFC 6188 §7 (AES_192_CM, AES_256_CM). SRTCP keeps 80-bit tags for the
# _32 suites: the short tag is defined for SRTP only (RFC 3711 §7.5).
SUITES: Mapping[str, SrtpSuite] = MappingProxyType(
    {
        suite.name: suite
        for suite in (
            SrtpSuite("AES_CM_128_HMAC_SHA1_80", 16, 10),
            SrtpSuite("AES_CM_128_HMAC_SHA1_32", 16, 4),
            SrtpSuite("AES_192_CM_HMAC_SHA1_80", 24, 10),
            SrtpSuite("AES_192_CM_HMAC_SHA1_32", 24, 4),
            SrtpSuite("AES_256_CM_HMAC_SHA1_80", 32, 10),
            SrtpSuite("AES_256_CM_HMAC_SHA1_32", 32, 4),
        )
    }
)


def _counter_suffixes(blocks: int) -> tuple[bytes, ...]:
    """``b"", 0x0000, 0x0001, ...``: joined with the 14 high IV octets they spell the counter blocks.

    The packet IV has zero low 16 bits (it is a multiple of 2^16, §4.1.1) and a packet has fewer than
    2^16 blocks, so block j is ``IV[:14] || j`` without any carry into the upper octets.
    """
    return (b"", *(j.to_bytes(2, "big") for j in range(blocks)))


_SUFFIXES = tuple(_counter_suffixes(n) for n in range(_MAX_TABLE_BLOCKS + 1))


def _ecb(key: bytes) -> CipherContext:
    return Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # CTR is built by hand


def aes_cm_keystream(key: bytes, iv: bytes, length: int, *, first_block: int = 0) -> bytes:
    """``length`` bytes of AES-CM keystream (§4.1.1): AES_k(IV + j) for j = first_block, ... (mod 2^128).

    The general form, for key derivation and the RFC vectors; packets use the table-driven path.
    """
    if len(iv) != 16:
        raise ValueError("AES-CM needs a 128-bit IV")
    start = int.from_bytes(iv, "big") + first_block
    count = (length + 15) >> 4
    blocks = b"".join(((start + j) & ((1 << 128) - 1)).to_bytes(16, "big") for j in range(count))
    return _ecb(key).update(blocks)[:length]


def derive_key(master_key: bytes, master_salt: bytes, label: int, length: int) -> bytes:
    """A session key from the AES-CM PRF with key derivation rate 0 (§4.3.1, §4.3.3).

    With KDR 0, r = 0 and key_id = label || 0^48; x = key_id XOR master_salt, and the PRF is AES-CM keyed
    by the master key with IV = x * 2^16.
    """
    if len(master_salt) != 14:
        raise ValueError("the master salt must be 112 bits")
    if not 0 <= label <= 0xFF:
        raise ValueError("key derivation labels are one octet")
    x = int.from_bytes(master_salt, "big") ^ (label << 48)
    return aes_cm_keystream(master_key, (x << 16).to_bytes(16, "big"), length)


@dataclass(frozen=True, slots=True)
class SessionKeys:
    """Encryption key, authentication key and salt for SRTP or SRTCP (§4.3.1, §4.3.2)."""

    encryption_key: bytes
    authentication_key: bytes
    salt: bytes

    @classmethod
    def derive(cls, suite: SrtpSuite, master: bytes, *, rtcp: bool = False) -> SessionKeys:
        if len(master) != suite.master_length:
            raise ValueError(
                f"{suite.name} needs {suite.master_length} bytes of key and salt, got {len(master)}"
            )
        key, salt = master[: suite.key_length], master[suite.key_length :]
        base = LABEL_RTCP_ENCRYPTION if rtcp else LABEL_RTP_ENCRYPTION
        return cls(
            derive_key(key, salt, base, suite.key_length),
            derive_key(key, salt, base + 1, suite.auth_key_length),
            derive_key(key, salt, base + 2, suite.salt_length),
        )


class _Transform:
    """Precomputed cipher and MAC state for one set of session keys."""

    __slots__ = ("encrypt_blocks", "mac", "salt", "tag_length")

    def __init__(self, keys: SessionKeys, tag_length: int) -> None:
        self.encrypt_blocks = _ecb(keys.encryption_key).update
        self.mac = HMAC(keys.authentication_key, hashes.SHA1())  # RFC 3711 §4.2.1
        self.salt = int.from_bytes(keys.salt, "big")  # k_s; IV = (k_s ^ (SSRC << 48) ^ i) << 16 (§4.1.1)
        self.tag_length = tag_length

    def crypt(self, prefix: int, data: bytes) -> bytes:
        """XOR ``data`` with the AES-CM keystream of IV ``prefix * 2^16`` (encrypts and decrypts alike)."""
        size = len(data)
        if not size:
            return data
        count = (size + 15) >> 4
        suffixes = _SUFFIXES[count] if count <= _MAX_TABLE_BLOCKS else _counter_suffixes(count)
        keystream = self.encrypt_blocks(prefix.to_bytes(14, "big").join(suffixes))
        # Byte order does not matter to XOR; little-endian conversions are the cheaper ones in CPython.
        mixed = int.from_bytes(data, "little") ^ int.from_bytes(keystream[:size], "little")
        return mixed.to_bytes(size, "little")

    def tag(self, message: bytes) -> bytes:
        """HMAC-SHA1 of the authenticated portion (with the ROC for SRTP), truncated (§4.2.1)."""
        mac = self.mac.copy()
        mac.update(message)
        return mac.finalize()[: self.tag_length]


class _ReplayWindow:
    """Highest index seen plus a bitmap of the ``size`` indices behind it (§3.3.2)."""

    __slots__ = ("bitmap", "highest", "mask", "size")

    def __init__(self, index: int, size: int) -> None:
        self.highest = index - 1
        self.bitmap = 0
        self.size = size
        self.mask = (1 << size) - 1

    def check(self, index: int) -> None:
        behind = self.highest - index
        if behind < 0:
            return
        if behind >= self.size:
            raise SrtpReplayError(f"index {index} is behind the replay window (newest {self.highest})")
        if (self.bitmap >> behind) & 1:
            raise SrtpReplayError(f"index {index} was already received")

    def accept(self, index: int) -> None:
        ahead = index - self.highest
        if ahead > 0:
            self.bitmap = ((self.bitmap << ahead) | 1) & self.mask
            self.highest = index
        else:
            self.bitmap |= 1 << -ahead


def _estimate_index(highest: int, sequence: int) -> int:
    """The packet index for ``sequence`` given the highest index so far (§3.3.1, Appendix A).

    ROC and s_l are the high and low parts of ``highest``. The result is negative for a packet from
    before the first one of the stream (its ROC would be -1); such a packet cannot authenticate.
    """
    roc, s_l = highest >> 16, highest & 0xFFFF
    if s_l < 0x8000:
        if sequence - s_l > 0x8000:
            roc -= 1
    elif s_l - 0x8000 > sequence:
        roc += 1
    return (roc << 16) | sequence if roc >= 0 else sequence - 0x10000


def _rtp_header_length(packet: bytes) -> int:
    """Length of the RTP header with CSRCs and extension (RFC 3550 §5.1, §5.3.1): it stays in clear."""
    size = len(packet)
    if size < 12 or packet[0] & 0xC0 != 0x80:
        raise SrtpFormatError("not an RTP version 2 packet")
    first = packet[0]
    length = 12 + 4 * (first & 0x0F)
    if first & 0x10:
        if size < length + 4:
            raise SrtpFormatError("RTP header extension is truncated")
        length += 4 + 4 * int.from_bytes(packet[length + 2 : length + 4], "big")
    if size < length:
        raise SrtpFormatError("RTP header is longer than the packet")
    return length


class SrtpContext:
    """SRTP/SRTCP for everything keyed by one master key and salt, one state per SSRC and direction.

    With SDES each side protects what it sends with its own key (RFC 4568 §6.1), so a call uses one
    context with our key for :meth:`protect`/:meth:`protect_rtcp` and one with the peer's key for
    :meth:`unprotect`/:meth:`unprotect_rtcp`. ``suite`` is a name from :data:`SUITES` or an
    :class:`SrtpSuite`; ``master`` is the decoded ``inline:`` key || salt.
    """

    __slots__ = (
        "_receivers",
        "_rtcp",
        "_rtcp_receivers",
        "_rtcp_senders",
        "_rtp",
        "_senders",
        "replay_window",
        "suite",
    )

    def __init__(
        self, suite: str | SrtpSuite, master: bytes, *, replay_window: int = DEFAULT_REPLAY_WINDOW
    ) -> None:
        if isinstance(suite, str):
            known = SUITES.get(suite.upper())
            if known is None:
                raise ValueError(f"unsupported SRTP crypto suite {suite!r}; known: {', '.join(SUITES)}")
            suite = known
        if replay_window < 64:
            raise ValueError("the replay window must cover at least 64 packets (RFC 3711 §3.3.2)")
        self.suite = suite
        self.replay_window = replay_window
        self._rtp = _Transform(SessionKeys.derive(suite, master), suite.rtp_tag_length)
        self._rtcp = _Transform(SessionKeys.derive(suite, master, rtcp=True), suite.rtcp_tag_length)
        self._senders: dict[int, int] = {}  # SSRC -> highest packet index sent
        self._receivers: dict[int, _ReplayWindow] = {}
        self._rtcp_senders: dict[int, int] = {}  # SSRC -> next SRTCP index
        self._rtcp_receivers: dict[int, _ReplayWindow] = {}

    # --- SRTP -------------------------------------------------------------------------------------------

    def protect(self, packet: bytes) -> bytes:
        """Encrypt the payload and append the authentication tag (§3.3); the header stays in clear."""
        header = 12 if len(packet) >= 12 and packet[0] == 0x80 else _rtp_header_length(packet)
        sequence, ssrc = _SEQ_SSRC.unpack_from(packet, 0)
        highest = self._senders.get(ssrc)
        if highest is None:
            index = sequence  # §3.3.1: the ROC starts at zero
            self._senders[ssrc] = index
        else:
            index = _estimate_index(highest, sequence)
            if index > highest:
                self._senders[ssrc] = index
            elif index < 0:
                raise SrtpError(f"sequence {sequence} lies before the first packet of SSRC {ssrc:#010x}")
        # Inlined _Transform.crypt/tag: this runs once per packet sent.
        transform = self._rtp
        body = packet[header:]
        size = len(body)
        if size:
            count = (size + 15) >> 4
            prefix = transform.salt ^ (ssrc << 48) ^ index  # IV / 2^16 = k_s ^ (SSRC * 2^48) ^ i (§4.1.1)
            suffixes = _SUFFIXES[count] if count <= _MAX_TABLE_BLOCKS else _counter_suffixes(count)
            keystream = transform.encrypt_blocks(prefix.to_bytes(14, "big").join(suffixes))
            mixed = int.from_bytes(body, "little") ^ int.from_bytes(keystream[:size], "little")
            body = mixed.to_bytes(size, "little")
        message = packet[:header] + body
        mac = transform.mac.copy()
        mac.update(message + (index >> 16).to_bytes(4, "big"))  # M || ROC (§4.2)
        return message + mac.finalize()[: transform.tag_length]

    def unprotect(self, packet: bytes) -> bytes:
        """Verify and decrypt; raises :class:`SrtpAuthenticationError` or :class:`SrtpReplayError`."""
        transform = self._rtp
        tag_length = transform.tag_length
        end = len(packet) - tag_length
        header = 12 if end >= 12 and packet[0] == 0x80 else _rtp_header_length(packet[:end])
        sequence, ssrc = _SEQ_SSRC.unpack_from(packet, 0)
        window = self._receivers.get(ssrc)
        if window is None:
            index = sequence  # the first packet seen sets s_l, with ROC 0 (§3.3.1)
        else:
            index = _estimate_index(window.highest, sequence)
            if index < 0:
                raise SrtpReplayError(f"sequence {sequence} lies before the first packet of the stream")
            window.check(index)
        authenticated = packet[:end] + (index >> 16).to_bytes(4, "big")
        if not _stdlib_hmac.compare_digest(transform.tag(authenticated), packet[end:]):
            raise SrtpAuthenticationError(f"SRTP tag mismatch for SSRC {ssrc:#010x} sequence {sequence}")
        if window is None:
            window = self._receivers[ssrc] = _ReplayWindow(index, self.replay_window)
        window.accept(index)
        prefix = transform.salt ^ (ssrc << 48) ^ index
        return packet[:header] + transform.crypt(prefix, packet[header:end])

    def rollover_counter(self, ssrc: int, *, sent: bool = True) -> int | None:
        """The ROC of an SSRC we sent (``sent=True``) or received, ``None`` before its first packet."""
        if sent:
            highest = self._senders.get(ssrc)
        else:
            window = self._receivers.get(ssrc)
            highest = None if window is None else window.highest
        return None if highest is None else highest >> 16

    # --- SRTCP ------------------------------------------------------------------------------------------

    def protect_rtcp(self, packet: bytes, *, encrypt: bool = True) -> bytes:
        """SRTCP (§3.4): encrypt all but the first 8 octets, append E||index and the 80-bit tag."""
        if len(packet) < 8 or packet[0] & 0xC0 != 0x80:
            raise SrtpFormatError("not an RTCP version 2 packet")
        ssrc = _WORD.unpack_from(packet, 4)[0]
        index = self._rtcp_senders.get(ssrc, 0)
        if index >= _SRTCP_INDEX_LIMIT:
            raise SrtpError(f"SRTCP index of SSRC {ssrc:#010x} exhausted: the master key must change")
        self._rtcp_senders[ssrc] = index + 1
        transform = self._rtcp
        if encrypt:
            prefix = transform.salt ^ (ssrc << 48) ^ index
            message = packet[:8] + transform.crypt(prefix, packet[8:])
            trailer = (index | _SRTCP_E_FLAG).to_bytes(4, "big")
        else:
            message, trailer = packet, index.to_bytes(4, "big")
        message += trailer
        return message + transform.tag(message)

    def unprotect_rtcp(self, packet: bytes) -> bytes:
        """Verify, check replay and decrypt an SRTCP packet; the result is the plain compound RTCP."""
        transform = self._rtcp
        end = len(packet) - transform.tag_length
        if end < 12 or packet[0] & 0xC0 != 0x80:
            raise SrtpFormatError("not an SRTCP packet")
        if not _stdlib_hmac.compare_digest(transform.tag(packet[:end]), packet[end:]):
            raise SrtpAuthenticationError("SRTCP tag mismatch")
        ssrc = _WORD.unpack_from(packet, 4)[0]
        word = _WORD.unpack_from(packet, end - 4)[0]
        index = word & (_SRTCP_E_FLAG - 1)
        window = self._rtcp_receivers.get(ssrc)
        if window is None:
            window = self._rtcp_receivers[ssrc] = _ReplayWindow(index, self.replay_window)
        window.check(index)
        window.accept(index)
        if not word & _SRTCP_E_FLAG:
            return packet[: end - 4]
        prefix = transform.salt ^ (ssrc << 48) ^ index
        return packet[:8] + transform.crypt(prefix, packet[8 : end - 4])
