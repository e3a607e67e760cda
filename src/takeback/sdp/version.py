"""The ``o=`` line across a dialog (RFC 3264 §8): one session-id, a version that moves only on change.

RFC 3264 §8: every new offer or answer of a session keeps the origin's session-id, and its session-version
is one more than the previous description's if anything changed, or the same if the description is
identical (a session refresh). ``VersionKeeper`` belongs to one dialog and is the only place that stamps
our ``o=`` line, so the rule cannot be forgotten by individual code paths.
"""

from __future__ import annotations

from takeback.sdp.fields import Origin, trusted_builder
from takeback.sdp.model import SessionDescription

__all__ = ["NTP_UNIX_OFFSET", "VersionKeeper", "is_same_version", "session_id_from_time"]

NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900-01-01 (NTP era 0) to 1970-01-01.


def session_id_from_time(now: float) -> int:
    """An NTP-seconds session id, as RFC 8866 §5.2 suggests; ``now`` is Unix time passed in by the caller."""
    return int(now) + NTP_UNIX_OFFSET


class VersionKeeper:
    """Stamps our descriptions with ``o=<username> <session_id> <version> ...``.

    ``stamp`` compares the description with the last one it stamped (ignoring the version itself): identical
    means the same version, anything else means version + 1. The first stamp uses ``initial_version``
    (default: the session id, as many stacks and the Genesys example do).
    """

    __slots__ = ("_last", "_session_id", "_username", "_version")

    def __init__(
        self, session_id: int | str, *, username: str = "-", initial_version: int | None = None
    ) -> None:
        self._session_id = str(session_id)
        self._username = username
        if initial_version is None:
            initial_version = (
                int(self._session_id) if self._session_id.isascii() and self._session_id.isdigit() else 0
            )
        if initial_version < 0:
            raise ValueError("initial_version must not be negative")
        self._version = initial_version
        self._last: SessionDescription | None = None
        if username != "-" or not self._session_id.isdigit():  # else both are plainly valid o= words
            Origin.create("0.0.0.0", session_id=self._session_id, username=username)  # validates both

    @property
    def session_id(self) -> str:
        return self._session_id

    @property
    def version(self) -> int:
        """The version of the last stamped description (or the one the first stamp will use)."""
        return self._version

    @property
    def last(self) -> SessionDescription | None:
        """The last description we stamped, e.g. to repeat it for a session refresh."""
        return self._last

    def origin_for(self, origin: Origin) -> Origin:
        """``origin`` with our username, session id and current version: what ``stamp`` writes unless the
        version has to move. A description built with it spares ``stamp`` a copy (``negotiate`` does this)."""
        return self._origin(origin, self._version)

    def _origin(self, origin: Origin, version: int) -> Origin:
        # Every part is validated: ours in __init__ (the version only grows from a non-negative start), the
        # rest in the description's own origin.
        return _trusted_origin(
            self._username, self._session_id, version, origin.nettype, origin.addrtype, origin.address
        )

    def _with_version(self, description: SessionDescription, version: int) -> SessionDescription:
        origin = self._origin(description.origin, version)
        return description if origin == description.origin else description.with_origin(origin)

    def stamp(self, description: SessionDescription) -> SessionDescription:
        """``description`` with our o= line; bumps the version only if it differs from the last one."""
        candidate = self._with_version(description, self._version)
        if self._last is None or candidate == self._last:
            self._last = candidate
            return candidate
        self._version += 1
        self._last = self._with_version(description, self._version)
        return self._last


_trusted_origin = trusted_builder(Origin)


def is_same_version(previous: SessionDescription, current: SessionDescription) -> bool:
    """True when the peer's new description has the same origin (and so, by RFC 3264 §8, the same content):
    a session refresh that needs no media change."""
    return previous.origin == current.origin
