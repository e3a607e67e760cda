"""OAuth of the emulated Platform API: client credentials in, bearer tokens out (GENESYS.md §2.1, §11.9).

The SDK's ``ApiClient.get_client_credentials_token(id, secret)`` posts ``grant_type=client_credentials``
with ``Authorization: Basic base64(id:secret)`` to ``<login host>/oauth/token``; pointed at
``http://127.0.0.1:PORT`` the login host is the same origin [DOC SDK ``get_conf_url``]. The reply is
``{"access_token", "token_type": "bearer", "expires_in"}`` (``Policies.oauth_expires_in_s``, INFERRED
86399). Errors follow RFC 6749 §5.2 (``invalid_client`` is 401 when the client authenticated with the
Authorization header, ``unsupported_grant_type`` 400).

Every ``/api/v2/…`` request but the OpenAPI document needs ``Authorization: Bearer <token>``: none is 401
``authentication.required``, an unknown or expired one 401 ``bad.credentials`` (Genesys' codes).
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ApiError

__all__ = ["OAuthError", "TokenIssuer", "bearer_token", "parse_basic"]


class OAuthError(Exception):
    """An RFC 6749 §5.2 error answer: ``{"error", "error_description", "description"}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def to_json(self) -> dict[str, str]:
        return {"error": self.error, "description": self.description, "error_description": self.description}


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """``Basic base64(id:secret)`` -> ``(id, secret)`` (RFC 7617 §2); None when absent or malformed."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def bearer_token(header: str | None) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (RFC 6750 §2.1), else None."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int

    def to_json(self) -> dict[str, object]:
        return {"access_token": self.access_token, "token_type": "bearer", "expires_in": self.expires_in}


class TokenIssuer:
    """Client credentials -> opaque bearer tokens, kept in memory with their expiry."""

    def __init__(
        self, client_id: str, client_secret: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._expiry: dict[str, float] = {}

    def issue(
        self,
        grant_type: str | None,
        basic: tuple[str, str] | None,
        form_credentials: tuple[str, str] | None,
        *,
        lifetime_s: int,
    ) -> IssuedToken:
        """Check the grant and the client (Basic first, else form fields, RFC 6749 §2.3.1)."""
        if not grant_type:
            raise OAuthError(400, "invalid_request", "grant_type is required")
        if grant_type != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", f"grant type {grant_type!r} is not supported")
        credentials = basic or form_credentials
        if credentials is None:
            raise OAuthError(401, "invalid_client", "client credentials are required (HTTP Basic)")
        client_id, secret = credentials
        ok_id = secrets.compare_digest(client_id.encode(), self._client_id.encode())
        ok_secret = secrets.compare_digest(secret.encode(), self._client_secret.encode())
        if not (ok_id and ok_secret):
            raise OAuthError(401, "invalid_client", "client not found or secret does not match")
        token = secrets.token_urlsafe(32)
        now = self._clock()
        self._expiry = {t: at for t, at in self._expiry.items() if at > now}  # forget expired tokens
        self._expiry[token] = now + lifetime_s
        return IssuedToken(token, lifetime_s)

    def check(self, authorization: str | None) -> None:
        """Raise the 401 :class:`ApiError` unless ``authorization`` carries a live token."""
        token = bearer_token(authorization)
        if token is None:
            raise ApiError(
                401,
                "authentication.required",
                "No authentication bearer token specified in authorization header.",
            )
        expiry = self._expiry.get(token)
        if expiry is None or expiry <= self._clock():
            raise ApiError(401, "bad.credentials", "Invalid login credentials.")

    def revoke_all(self) -> None:
        self._expiry.clear()
