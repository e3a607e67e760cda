"""Plans as text, and the last line of defence for secrets: :class:`Redactor`.

Text form (one resource per line, its changed fields indented below)::

    + trunk 'Device': create
        trunk_transport_serverProxyList: ["127.0.0.1:5080"]
    ~ number plan 'E164' (site 'Daly City'): update
        position: 3 -> 1
    = outbound route 'To Device' (site 'Daly City'): unchanged

Secret fields (:data:`takeback.provision.desired.SECRET_KEYS`) are masked by key. Everything printed also
goes through a :class:`Redactor` that knows the secret *values* (client secret, Digest passwords, static
header and UUI values), so an API error message that echoes one cannot leak it either.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ..cloud import Org
from ..cloud.trunk_properties import PROPERTY_BY_KEY
from .changes import MASK, Change, Plan, masked
from .desired import SECRET_KEYS

__all__ = ["Redactor", "format_value", "org_secrets", "render_change", "render_plan", "summary"]

_MARKS = {"create": "+", "update": "~", "unchanged": "="}
_MIN_SECRET = 4  # shorter values would blank out ordinary text; the key-based mask still covers them


class Redactor:
    """Replace every known secret value in a text with ``********``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if len(s) >= _MIN_SECRET}, key=len, reverse=True)

    def add(self, *secrets: str) -> None:
        self._secrets = sorted(
            {*self._secrets, *(s for s in secrets if len(s) >= _MIN_SECRET)}, key=len, reverse=True
        )

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text


def org_secrets(org: Org) -> list[str]:
    """The secret values org.yaml holds (see :data:`SECRET_KEYS`)."""
    values: list[str] = []
    for trunk in org.trunks:
        values += [trunk.digest_password, trunk.static_user_data, *trunk.custom_sip_headers.values()]
    return [value for value in values if value]


def format_value(value: Any, *, secret: bool = False) -> str:
    shown = masked(value) if secret else value
    return json.dumps(shown, ensure_ascii=False, sort_keys=isinstance(shown, dict))


def _field_label(name: str) -> str:
    spec = PROPERTY_BY_KEY.get(name)
    return f"{name} ({spec.field})" if spec is not None and spec.field != "name" else name


def render_change(change: Change) -> list[str]:
    lines = [f"{_MARKS[change.action]} {change.label}: {change.action}"]
    for item in change.fields:
        secret = item.secret or item.name in SECRET_KEYS
        after = format_value(item.after, secret=secret)
        if change.action == "create" or (item.before is None and item.name == "position"):
            lines.append(f"    {_field_label(item.name)}: {after}")
        else:
            lines.append(
                f"    {_field_label(item.name)}: {format_value(item.before, secret=secret)} -> {after}"
            )
    lines += [f"    ({note})" for note in change.notes]
    return lines


def summary(plan: Plan, *, applied: bool) -> str:
    if not plan.has_changes:
        return "No changes: the org already matches org.yaml."
    created, updated, same = plan.count("create"), plan.count("update"), plan.count("unchanged")
    if applied:
        return f"Apply complete: {created} created, {updated} updated, {same} unchanged."
    return f"Plan: {created} to create, {updated} to update, {same} unchanged."


def render_plan(plan: Plan) -> list[str]:
    """Every change (unchanged ones included, one line each), then notes and warnings."""
    lines: list[str] = []
    for change in plan.changes:
        lines += render_change(change)
    lines += [f"note: {note}" for note in plan.notes]
    lines += [f"warning: {warning}" for warning in plan.warnings]
    return lines
