"""Small value grammars used by org.yaml and by the trunk property table.

Each parser raises :class:`ValueError` with a message that says what would be valid, so pydantic
validators can pass the message through unchanged (see :mod:`takeback.cloud.config`).

* durations in the Platform API style ``"2m"``, ``"90s"``, ``"1m30s"`` (``trunk_maxDialTimeout``,
  GENESYS.md §3.3, seen as ``"2m"``/``"1m"`` in real exports);
* code lists ``"500-599"`` / ``"1-5,25,27"`` (``trunk_transport_retryableReasonCodes`` and
  ``…CauseCodes``, GENESYS.md §3.3);
* ``host:port`` SIP server entries (``trunk_transport_serverProxyList``; the item format is INFERRED in
  GENESYS.md §3.3 from the UI's Hostname/IP + Port fields);
* call rates ``"40/5s"`` (``trunk_maxCallRate``);
* E.164 numbers (ITU-T E.164: ``+`` then at most 15 digits, first digit not 0).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

__all__ = [
    "HostPort",
    "check_e164",
    "is_e164",
    "parse_call_rate",
    "parse_codes",
    "parse_duration",
    "parse_host_port",
    "parse_network",
]

_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$")
_E164 = re.compile(r"^\+[1-9]\d{1,14}$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)
_CALL_RATE = re.compile(r"^(\d+)/(\d+)s$")
_MAX_CODE = 65535


def parse_duration(text: str) -> float:
    """Seconds in ``"2m"``, ``"90s"``, ``"1h"``, ``"1m30s"``, ``"500ms"`` (units h, m, s, ms, in order)."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration; write e.g. '2m', '90s' or '1m30s'")
    hours, minutes, seconds, millis = (int(group) if group else 0 for group in match.groups())
    return hours * 3600.0 + minutes * 60.0 + seconds + millis / 1000.0


def parse_codes(text: str, *, low: int = 0, high: int = _MAX_CODE) -> frozenset[int]:
    """The set of codes in ``"500-599"`` / ``"1-5,25,27"`` (empty text = no code).

    Used for retryable SIP reason codes (failover, GENESYS.md §4.1 (5), INFERRED) and Q.850 cause codes.
    """
    codes: set[int] = set()
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        where = repr(item) if item == text.strip() else f"{item!r} in {text!r}"
        first, sep, last = item.partition("-")
        if not first.strip().isdigit() or (sep and not last.strip().isdigit()):
            raise ValueError(f"{where} is not a code or a range; write e.g. '500-599' or '486,503'")
        start, end = int(first), int(last) if sep else int(first)
        if start > end or start < low or end > high:
            raise ValueError(f"{where}: a range must be ascending and within {low}-{high}")
        codes.update(range(start, end + 1))
    return frozenset(codes)


@dataclass(frozen=True, slots=True)
class HostPort:
    """One SIP server or proxy: a host (IP literal without brackets, or a hostname) and a port."""

    host: str
    port: int

    @property
    def is_ip(self) -> bool:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            return False
        return True

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_host_port(text: str, *, default_port: int = 5060) -> HostPort:
    """``"10.34.12.16:5060"``, ``"[2001:db8::1]:5061"``, ``"sip.example.com"`` (port defaults)."""
    value = text.strip()
    host, port_text = value, ""
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r} is not host:port; write IPv6 as '[2001:db8::1]:5060'")
        port_text = rest[1:]
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
    port = default_port
    if port_text or value.endswith(":"):
        if not port_text.isdigit() or not 1 <= int(port_text) <= _MAX_CODE:
            raise ValueError(f"{text!r}: port must be a number 1-65535")
        port = int(port_text)
    if not _valid_host(host):
        raise ValueError(
            f"{text!r} is not host:port; write e.g. '203.0.113.10:5060' or 'sip.example.com:5061'"
        )
    return HostPort(host, port)


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return bool(_HOSTNAME.match(host)) and not host.replace(".", "").isdigit()
    return True


def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """An allow-list entry: an IP or a CIDR (``"10.34.12.16"``, ``"203.0.113.0/24"``), GENESYS.md §3.3."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise ValueError(
            f"{text!r} is not an IP address or CIDR; write e.g. '203.0.113.10' or '203.0.113.0/24'"
        ) from None


def parse_call_rate(text: str) -> tuple[int, float]:
    """``"40/5s"`` -> (40 calls, 5.0 seconds)."""
    match = _CALL_RATE.match(text.strip())
    if match is None or int(match.group(2)) == 0:
        raise ValueError(f"{text!r} is not a call rate; write e.g. '40/5s' (calls per seconds)")
    return int(match.group(1)), float(match.group(2))


def is_e164(text: str) -> bool:
    return bool(_E164.match(text))


def check_e164(text: str) -> str:
    """Return ``text`` when it is E.164 with its ``+``; the error explains YAML's integer trap."""
    if not is_e164(text):
        hint = " (add the leading '+')" if text.isdigit() else ""
        raise ValueError(f"{text!r} is not an E.164 number like '+19999990001'{hint}")
    return text
