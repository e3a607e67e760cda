"""What org.yaml asks of a real org, in the Platform API's own JSON (GENESYS.md §3, §8, §9).

Scope, following the article's steps (why not "everything in org.yaml"?):

* **trunks**: every BYOC trunk except the PSTN trunk is *managed* (created or updated, step 5). The PSTN
  trunk is the customer's existing carrier trunk (or Genesys Cloud Voice): it is only *checked* (step 4,
  Release Link Transfer), never written;
* **number plans**: every plan a site lists in org.yaml is managed; they go to the top of the site's list
  and the site's other plans stay below them in their order (step 6.3);
* **outbound routes**: the routes that use a managed trunk are managed (step 6.5). A route that only uses
  trunks takeback does not manage (the PSTN route of the emulator's org) is left alone;
* **site Caller ID / Caller Name** (``callerId`` / ``callerName``, the ``Site`` source of
  ``trunk_calling_id_priority``, GENESYS.md §3.3): managed on a site whose org.yaml entry sets either one;
  both are then written (an empty one clears the org's). A site that sets neither keeps the org's values.
  Sites themselves are never created.

Property keys come from THE table (:mod:`takeback.cloud.trunk_properties`): the camelCase keys of real
exports, never the snake_case spellings of the Terraform example (§3.2), which org.yaml may not smuggle in
through ``extra_properties`` either (:func:`terraform_spelling_problems`).
"""

from __future__ import annotations

import copy
from typing import Any

from ..cloud import Org, OutboundRoute, Site, Trunk
from ..cloud.numberplans import plan_to_api
from ..cloud.trunk_properties import (
    FIXED_PROPERTIES,
    PROPERTY_BY_FIELD,
    PROPERTY_BY_KEY,
    PropertySpec,
    trunk_to_properties,
)

__all__ = [
    "PASSWORD_KEY",
    "PLAN_FIELDS",
    "READ_ONLY_FIELDS",
    "SECRET_KEYS",
    "SITE_CALLER_FIELDS",
    "TERRAFORM_SPELLINGS",
    "managed_routes",
    "managed_site_caller",
    "managed_trunks",
    "plan_to_api",
    "plan_view",
    "property_default",
    "terraform_spelling_problems",
    "trunk_instances",
]

PASSWORD_KEY = PROPERTY_BY_FIELD["digest_password"].key
# Values that are credentials: the Digest password; the static header the device checks as a token and
# the static UUI that may carry one (article "Controlling access to your SIP device").
SECRET_KEYS: frozenset[str] = frozenset(
    {PASSWORD_KEY, PROPERTY_BY_FIELD["custom_sip_headers"].key, PROPERTY_BY_FIELD["static_user_data"].key}
)
# [DOC TF] example/acceptance-test spellings that do not exist in real exports -> the real key (§3.2).
TERRAFORM_SPELLINGS: dict[str, str] = {
    "trunk_max_dial_timeout": "trunk_maxDialTimeout",
    "trunk_transport_sip_dscp_value": "trunk_transport_sipDscpValue",
    "trunk_media_disconnect_on_idle_rtp": "trunk_media_disconnectOnIdleRTP",
}
# Set by the server; never sent back in a PUT. ``priority`` too: the order of the body is the priority
# (TF, §8.1), and a stale priority must not contradict it.
READ_ONLY_FIELDS: frozenset[str] = frozenset(
    {
        "dateCreated",
        "dateModified",
        "createdBy",
        "modifiedBy",
        "createdByApp",
        "modifiedByApp",
        "selfUri",
        "priority",
    }
)
PLAN_FIELDS = ("matchType", "classification", "numbers", "digitLength", "match", "normalizedFormat")
#: org.yaml site field -> Site JSON member [DOC SDK ``Site.caller_id``/``caller_name``].
SITE_CALLER_FIELDS = (("caller_id", "callerId"), ("caller_name", "callerName"))


def managed_trunks(org: Org) -> list[Trunk]:
    """The trunks provisioning creates or updates: BYOC, not the PSTN trunk (module doc)."""
    return [trunk for trunk in org.trunks if trunk.kind == "byoc" and trunk.name != org.pstn.trunk]


def managed_routes(org: Org, site: Site) -> list[OutboundRoute]:
    """The site's routes that use at least one managed trunk."""
    names = {trunk.name for trunk in managed_trunks(org)}
    return [route for route in site.outbound_routes if names & set(route.external_trunks)]


def managed_site_caller(site: Site) -> dict[str, str] | None:
    """The ``callerId`` / ``callerName`` provisioning writes on ``site``, or None when org.yaml sets neither
    (module doc)."""
    if not (site.caller_id or site.caller_name):
        return None
    return {member: getattr(site, field) for field, member in SITE_CALLER_FIELDS}


def terraform_spelling_problems(org: Org) -> list[str]:
    """``extra_properties`` keys spelled like the Terraform example: they would be stored and ignored."""
    problems = []
    for index, trunk in enumerate(org.trunks):
        for key in trunk.extra_properties:
            real = TERRAFORM_SPELLINGS.get(key)
            if real is not None:
                field = PROPERTY_BY_KEY[real].field
                problems.append(
                    f"trunks[{index}].extra_properties.{key}: the Terraform example spelling; the API key is "
                    f"{real} - set {field!r} instead (GENESYS.md §3.2)"
                )
    return problems


def property_default(key: str) -> Any:
    spec = PROPERTY_BY_KEY.get(key)
    return copy.deepcopy(spec.default) if spec is not None else None


def trunk_instances(trunk: Trunk) -> dict[str, tuple[Any, PropertySpec | None]]:
    """Every ``value.instance`` org.yaml sets on a trunk, with its table row (None for extra keys).

    The constant ``trunk_protocol``/``trunk_networkType`` are the template's business, not org.yaml's.
    """
    result: dict[str, tuple[Any, PropertySpec | None]] = {}
    for key, envelope in trunk_to_properties(trunk).items():
        if key in FIXED_PROPERTIES:
            continue
        result[key] = (envelope["value"]["instance"], PROPERTY_BY_KEY.get(key))
    return result


def plan_view(plan: dict[str, Any]) -> dict[str, Any]:
    """The fields that decide what a plan matches, normalized for comparison (API or :func:`plan_to_api`)."""
    view: dict[str, Any] = {}
    for field in PLAN_FIELDS:
        value = plan.get(field)
        if value in (None, "", []):
            continue
        if field == "numbers":
            value = [
                {"start": str(n.get("start")), "end": str(n.get("end") or n.get("start"))} for n in value
            ]
        elif field == "digitLength":
            value = {"start": str(value.get("start")), "end": str(value.get("end"))}
        view[field] = value
    return view
