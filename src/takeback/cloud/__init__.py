"""The Genesys Cloud emulator: org model and routing (this package's pure layer).

* :mod:`.org` - ``org.yaml`` models, :func:`load_org`, :func:`load_builtin_org`;
* :mod:`.trunk` / :mod:`.trunk_properties` - trunk settings in UI vocabulary and THE table to Platform
  API property keys (:func:`trunk_to_properties`, :func:`properties_to_trunk`);
* :mod:`.numberplans` / :mod:`.routing` - classification, normalization, outbound routes, attempts;
* :mod:`.flows` - Architect-lite flows and their pure interpreter;
* :mod:`.policies` - every INFERRED/UNKNOWN behaviour as a named policy;
* :mod:`.lint` - the documented traps (RLT on a BYOC PSTN trunk, shadowed plans, take back off …).

No sockets, no asyncio here: the SIP side and the REST API build on these values.
"""

from .config import ConfigError, Problem
from .flows import Flow, FlowRun, start_flow, step
from .lint import Finding, lint, lint_config
from .numberplans import Classification, NumberPlan, classify
from .org import DidRange, Org, OutboundRoute, Pstn, Site, load_builtin_org, load_org, parse_org
from .policies import Policies
from .routing import Attempt, DialPlan, NoRoute, classify_number, route_number
from .trunk import Trunk
from .trunk_properties import TRUNK_PROPERTIES, PropertySpec, properties_to_trunk, trunk_to_properties

__all__ = [
    "TRUNK_PROPERTIES",
    "Attempt",
    "Classification",
    "ConfigError",
    "DialPlan",
    "DidRange",
    "Finding",
    "Flow",
    "FlowRun",
    "NoRoute",
    "NumberPlan",
    "Org",
    "OutboundRoute",
    "Policies",
    "Problem",
    "PropertySpec",
    "Pstn",
    "Site",
    "Trunk",
    "classify",
    "classify_number",
    "lint",
    "lint_config",
    "load_builtin_org",
    "load_org",
    "parse_org",
    "properties_to_trunk",
    "route_number",
    "start_flow",
    "step",
    "trunk_to_properties",
]
