"""org.yaml -> a real Genesys Cloud org (or the emulator) through the official SDK: plan, apply, correlate.

* :mod:`.platform` - region -> API host (the SDK's ``PureCloudRegionHosts``), credentials from the
  environment, :class:`PlatformClient` (JSON in/out over the SDK's API classes);
* :mod:`.desired` - what org.yaml asks of the org, in the API's JSON; what is managed and what is not;
* :mod:`.snapshot` - one read pass of the live org; :mod:`.planner` - (org, snapshot) -> :class:`Plan`
  (pure); :mod:`.apply` - the writes, in dependency order; :mod:`.render` - text and secret masking;
* :mod:`.correlate` - SIP Call-ID <-> conversationId through analytics, joined with the device records.

Typical use::

    host, _ = resolve_host(region="us-east-1", api=None)
    client = connect(host, Credentials.from_env(os.environ, emulator=False))
    plan = plan_org(org, client)
    if not plan.errors and plan.has_changes:
        execute(plan, client)
"""

from __future__ import annotations

from ..cloud import Org
from .apply import ApplyFailed, ApplyResult, execute
from .changes import Change, FieldChange, Plan
from .correlate import Correlation, Leg, by_call_id, by_conversation_id, details_query, device_rows
from .planner import PlanOptions, make_plan
from .platform import (
    ApiFailure,
    Credentials,
    PlatformClient,
    ProvisionUsageError,
    connect,
    region_hosts,
    resolve_host,
)
from .render import Redactor, render_plan, summary
from .snapshot import Snapshot, read_snapshot

__all__ = [
    "ApiFailure",
    "ApplyFailed",
    "ApplyResult",
    "Change",
    "Correlation",
    "Credentials",
    "FieldChange",
    "Leg",
    "Plan",
    "PlanOptions",
    "PlatformClient",
    "ProvisionUsageError",
    "Redactor",
    "Snapshot",
    "by_call_id",
    "by_conversation_id",
    "connect",
    "details_query",
    "device_rows",
    "execute",
    "make_plan",
    "plan_org",
    "read_snapshot",
    "region_hosts",
    "render_plan",
    "resolve_host",
    "summary",
]


def plan_org(org: Org, client: PlatformClient, options: PlanOptions | None = None) -> Plan:
    """Read the live org and compare it with ``org`` (no writes)."""
    return make_plan(org, read_snapshot(client, org), options)
