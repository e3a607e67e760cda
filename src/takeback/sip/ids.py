"""Branches, tags and Call-IDs, all drawn from an injected :class:`random.Random`.

Sans-IO rule: no hidden entropy source, so a test seeding the generator replays a call byte for byte.
Production passes ``random.SystemRandom()`` (unguessable tags matter: RFC 3261 §19.3 asks for 32 bits of
randomness in tags and global uniqueness of Call-IDs; branches must be unique in space and time, §8.1.1.7).
"""

from __future__ import annotations

import random

__all__ = ["MAGIC_COOKIE", "IdGenerator"]

#: RFC 3261 §8.1.1.7: every branch we create starts with it, so peers use §17.2.3 matching.
MAGIC_COOKIE = "z9hG4bK"


#: Random bytes drawn from the generator at once: one ``os.urandom`` call for ~300 identifiers when the
#: generator is a ``SystemRandom``, instead of one system call per tag or branch.
_POOL_BYTES = 4096


class IdGenerator:
    """Cheap unique identifiers: 64 random bits per branch, 48 per tag, 128 per Call-ID.

    The bits come from the injected generator in blocks of :data:`_POOL_BYTES`, consumed in order and
    each used once, so identifiers stay exactly as unpredictable as the generator's output.
    """

    __slots__ = ("_pool", "_pos", "_rng")

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._pool = b""
        self._pos = 0

    def _hex(self, size: int) -> str:
        """``size`` fresh random bytes as lower-case hex."""
        pos = self._pos
        end = pos + size
        if end > len(self._pool):
            self._pool = self._rng.getrandbits(_POOL_BYTES * 8).to_bytes(_POOL_BYTES, "little")
            pos, end = 0, size
        self._pos = end
        return self._pool[pos:end].hex()

    def branch(self) -> str:
        return MAGIC_COOKIE + self._hex(8)

    def tag(self) -> str:
        return self._hex(6)

    def call_id(self) -> str:
        """UUID-shaped, like the Call-IDs Genesys stores as ``protocolCallId`` (GENESYS.md §4.2)."""
        h = self._hex(16)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
