"""Platform API errors: one exception type that carries the ``ErrorBody`` to answer with (GENESYS.md §9).

Handlers and the state layer raise :class:`ApiError`; the server's middleware turns it into JSON
``{message, code, status, contextId, details, errors[, limit, entityId, entityName]}`` with the
SDK's ``ErrorBody`` field names, so ``ApiException.body`` parses as it would against a real org. Like
h11's ``LocalProtocolError``, the error knows the status to send; nothing else needs to.

Codes [INFERRED, GENESYS.md §9]: ``bad.request``, ``invalid.value``, ``not.found``,
``authentication.required``, ``bad.credentials``, ``conflict`` (stale ``version``),
``method.not.allowed``, ``internal.server.error``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import ConfigError, Problem

__all__ = [
    "ApiError",
    "FieldProblem",
    "bad_request",
    "error_body",
    "from_config_error",
    "not_found",
]


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One entry of ``ErrorBody.details`` (SDK ``Detail``: ``errorCode``, ``fieldName``)."""

    field_name: str
    message: str
    error_code: str = "invalid.value"

    def to_json(self) -> dict[str, str]:
        return {"errorCode": self.error_code, "fieldName": self.field_name, "message": self.message}


class ApiError(Exception):
    """An HTTP error answer with its ``ErrorBody``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: Sequence[FieldProblem] = (),
        limit: dict[str, Any] | None = None,
        entity_id: str | None = None,
        entity_name: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = tuple(details)
        self.limit = limit
        self.entity_id = entity_id
        self.entity_name = entity_name


def error_body(error: ApiError, context_id: str) -> dict[str, Any]:
    """The JSON of an ``ErrorBody``; ``contextId`` is also sent as the ``ININ-Correlation-Id`` header."""
    body: dict[str, Any] = {
        "message": error.message,
        "code": error.code,
        "status": error.status,
        "contextId": context_id,
        "details": [detail.to_json() for detail in error.details],
        "errors": [],
    }
    if error.limit is not None:
        body["limit"] = error.limit
    if error.entity_id is not None:
        body["entityId"] = error.entity_id
    if error.entity_name is not None:
        body["entityName"] = error.entity_name
    return body


def bad_request(message: str, *, field: str | None = None, details: Iterable[FieldProblem] = ()) -> ApiError:
    problems = list(details)
    if field is not None:
        problems.insert(0, FieldProblem(field, message))
    return ApiError(400, "bad.request", message, details=problems)


def check_version(
    supplied: int | None, current: int, *, mismatch_status: int, entity_id: str, entity_name: str
) -> None:
    """A PUT carries the version the client read [DOC TF ``IsVersionMismatch``]: none -> 400, a stale one ->
    ``mismatch_status`` (409 by default, the policy ``version_mismatch_status``)."""
    if supplied is None:
        raise bad_request("version is required: send the version you read", field="version")
    if supplied != current:
        raise ApiError(
            mismatch_status,
            "conflict" if mismatch_status == 409 else "bad.request",
            f"The version supplied ({supplied}) does not match the current version ({current})",
            entity_id=entity_id,
            entity_name=entity_name,
        )


def not_found(kind: str, entity_id: str) -> ApiError:
    return ApiError(
        404, "not.found", f"{kind} {entity_id!r} not found", entity_id=entity_id, entity_name=kind
    )


def from_config_error(error: ConfigError, *, rename: Sequence[tuple[str, str]] = ()) -> ApiError:
    """A 400 listing each :class:`Problem` of an org validation; ``rename`` maps path prefixes
    (``sites[0].number_plans`` -> ``body``) to the names the API client knows."""
    problems = [_renamed(problem, rename) for problem in error.problems]
    message = "; ".join(str(problem) for problem in problems) or "invalid request"
    return bad_request(message, details=[FieldProblem(p.path, p.message) for p in problems])


def _renamed(problem: Problem, rename: Sequence[tuple[str, str]]) -> Problem:
    for old, new in rename:
        if problem.path == old or problem.path.startswith((old + ".", old + "[")):
            return Problem(new + problem.path[len(old) :], problem.message)
    return problem
