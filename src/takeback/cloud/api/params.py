"""Reading query strings and JSON bodies strictly, and writing entity listings (GENESYS.md §9).

Every malformed value is a 400 that names the parameter or field, never a 500: the OpenAPI document
(:mod:`.openapi`) declares the same types, and schemathesis checks that the two agree.

Booleans: the SDK sends Python's ``True``/``False`` in query strings (``sanitize_for_serialization``
leaves them as bools, urllib3 writes ``str(value)``), so ``true``/``false`` are read case-insensitively.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from .errors import ApiError, bad_request

__all__ = ["Body", "Query", "listing", "name_matches"]


class Query:
    """Typed access to a request's query parameters (a multi-dict: repeated keys allowed)."""

    def __init__(self, params: Mapping[str, str], getall: Any = None) -> None:
        self._params = params
        self._getall = getall

    def text(self, name: str) -> str | None:
        return self._params.get(name)

    def integer(self, name: str, default: int, *, low: int, high: int) -> int:
        raw = self._params.get(name)
        if raw is None:
            return default
        text = raw.strip()
        digits = text.removeprefix("-")
        if not (digits.isascii() and digits.isdigit() and len(digits) <= 18) or not low <= int(text) <= high:
            raise bad_request(f"{name} must be an integer from {low} to {high}", field=name)
        return int(text)

    def boolean(self, name: str) -> bool | None:
        raw = self._params.get(name)
        if raw is None:
            return None
        lowered = raw.strip().lower()
        if lowered not in ("true", "false"):
            raise bad_request(f"{name} must be true or false", field=name)
        return lowered == "true"

    def choice(self, name: str, choices: Sequence[str], default: str) -> str:
        """One of ``choices``, spelled exactly as listed (the OpenAPI enum lists the same)."""
        raw = self._params.get(name)
        if raw is None:
            return default
        if raw not in choices:
            raise bad_request(f"{name} must be one of {', '.join(choices)}", field=name)
        return raw

    def sort_descending(self) -> bool:
        """``sortOrder``: ASC (default) or DESC, upper or lower case as the SDK docs show both."""
        return self.choice("sortOrder", ("ASC", "DESC", "asc", "desc"), "ASC").upper() == "DESC"

    def strings(self, name: str) -> list[str]:
        """A list parameter, repeated (``?id=a&id=b``) or comma-separated (``?id=a,b``)."""
        values: list[str] = list(self._getall(name, [])) if self._getall else []
        if not values and name in self._params:
            values = [self._params[name]]
        return [item.strip() for value in values for item in value.split(",") if item.strip()]


class Body:
    """Typed access to a JSON object body; ``where`` prefixes field names in errors (``body[3]``)."""

    def __init__(self, data: Any, where: str = "body") -> None:
        if not isinstance(data, dict):
            raise bad_request(f"{where} must be a JSON object", field=where)
        self.data: dict[str, Any] = data
        self._where = where

    def _field(self, name: str) -> str:
        return name if self._where == "body" else f"{self._where}.{name}"

    def _fail(self, name: str, message: str) -> ApiError:
        return bad_request(f"{self._field(name)} {message}", field=self._field(name))

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def text(self, name: str, *, required: bool = False, default: str | None = None) -> str | None:
        value = self.data.get(name)
        if value is None:
            if required:
                raise self._fail(name, "is required")
            return default
        if not isinstance(value, str):
            raise self._fail(name, "must be a string")
        if required and not value.strip():
            raise self._fail(name, "must not be empty")
        return value

    def choice(self, name: str, choices: Sequence[str], default: str) -> str:
        """A member that must be one of ``choices`` (exact spelling) when present."""
        value = self.text(name)
        if value is None:
            return default
        if value not in choices:
            raise self._fail(name, f"must be one of {', '.join(choices)}")
        return value

    def required_text(self, name: str) -> str:
        value = self.text(name, required=True)
        assert value is not None
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._fail(name, "must be true or false")
        return value

    def integer(self, name: str) -> int | None:
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(name, "must be an integer")
        return value

    def strings(self, name: str, *, required: bool = False) -> list[str]:
        value = self.data.get(name)
        if value is None:
            if required:
                raise self._fail(name, "is required")
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self._fail(name, "must be a list of strings")
        return list(value)

    def ref_id(self, name: str) -> str | None:
        """The ``id`` of a ``DomainEntityRef`` member, or None when absent."""
        value = self.data.get(name)
        if value is None:
            return None
        ref = Body(value, self._field(name))
        return ref.required_text("id")

    def ref_ids(self, name: str) -> list[str]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._fail(name, "must be a list of {id} references")
        return [
            Body(item, f"{self._field(name)}[{index}]").required_text("id")
            for index, item in enumerate(value)
        ]

    def mapping(self, name: str) -> dict[str, Any]:
        value = self.data.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self._fail(name, "must be a JSON object")
        return value


def name_matches(pattern: str | None, name: str) -> bool:
    """The ``name`` filter of listings: case-insensitive, ``*`` as a wildcard, else the exact name
    (INFERRED: Genesys documents neither substring nor wildcard semantics for these endpoints)."""
    if not pattern:
        return True
    if "*" in pattern:
        regex = ".*".join(re.escape(part) for part in pattern.casefold().split("*"))
        return re.fullmatch(regex, name.casefold(), flags=re.DOTALL) is not None
    return name.casefold() == pattern.casefold()


def listing(
    entities: Sequence[dict[str, Any]],
    *,
    page_number: int,
    page_size: int,
    path: str,
    query: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A ``…EntityListing`` page: ``{entities, pageSize, pageNumber, total, pageCount, firstUri, selfUri,
    lastUri[, nextUri, previousUri]}`` (GENESYS.md §9, SDK ``*EntityListing``)."""
    total = len(entities)
    page_count = max(1, math.ceil(total / page_size))
    start = (page_number - 1) * page_size
    kept = {key: value for key, value in (query or {}).items() if key not in ("pageNumber", "pageSize")}

    def uri(number: int) -> str:
        return f"{path}?{urlencode({**kept, 'pageSize': page_size, 'pageNumber': number})}"

    body: dict[str, Any] = {
        "entities": list(entities[start : start + page_size]),
        "pageSize": page_size,
        "pageNumber": page_number,
        "total": total,
        "pageCount": page_count,
        "firstUri": uri(1),
        "selfUri": uri(page_number),
        "lastUri": uri(page_count),
    }
    if page_number < page_count:
        body["nextUri"] = uri(page_number + 1)
    if page_number > 1:
        body["previousUri"] = uri(min(page_number - 1, page_count))
    return body
