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


class IdGenerator:
    """Cheap unique identifiers: 64 random bits per branch, 48 per tag, 128 per Call-ID."""

    __slots__ = ("_rng",)

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def branch(self) -> str:
        return f"{MAGIC_COOKIE}{self._rng.getrandbits(64):016x}"

    def tag(self) -> str:
        return f"{self._rng.getrandbits(48):012x}"

    def call_id(self) -> str:
        """UUID-shaped, like the Call-IDs Genesys stores as ``protocolCallId`` (GENESYS.md §4.2)."""
        h = f"{self._rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
