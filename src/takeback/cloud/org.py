"""The org model: what one ``org.yaml`` says about the Genesys Cloud side, validated with clear errors.

Top level (every key optional except ``pstn``, ``trunks`` and ``sites``)::

    name: takeback demo org
    region: us-east-1
    policies: {...}            # takeback.cloud.policies.Policies: every INFERRED/UNKNOWN behaviour
    pstn: {trunk: PSTN, default_caller: "+13175551234"}
    trunks: [...]              # takeback.cloud.trunk.Trunk, UI vocabulary
    sites: [...]               # number plans (top to bottom) and outbound routes
    default_site: Daly City
    did_ranges: [...]          # DID -> Architect flow (Admin › Routing › Call Routing)
    flows: [...]               # takeback.cloud.flows.Flow
    emulator: {...}            # takeback.cloud.config.EmulatorSettings: how `takeback cloud` listens

Cross-references are checked after the structure is valid: route trunks, trunk sites, DID flows, the PSTN
trunk, classification uniqueness per site (``Policies.classification_uniqueness``, GENESYS.md §4.1 (4)),
unique names, the 200-plan limit (§8.1), overlapping DID ranges, and ``extra_properties`` keys that
shadow a known setting.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from .config import (
    EMULATOR_KEY,
    ConfigError,
    EmulatorSettings,
    Problem,
    ProblemList,
    StrictModel,
    did_you_mean,
    read_yaml,
    validate_model,
)
from .flows import Flow
from .numberplans import (
    MAX_NUMBER_PLANS,
    DialingContext,
    NumberPlan,
    default_number_plans,
)
from .policies import Policies
from .trunk import Trunk
from .trunk_properties import PROPERTY_BY_KEY
from .values import check_e164

__all__ = [
    "DidRange",
    "Org",
    "OutboundRoute",
    "Pstn",
    "Site",
    "load_builtin_org",
    "load_org",
    "parse_org",
]

Loc = tuple[str | int, ...]


class OutboundRoute(StrictModel):
    """A site outbound route (SDK ``OutboundRouteBase``, GENESYS.md §8.2).

    ``enabled`` defaults to true here although the API/TF default is false (§8.2): an org.yaml route is
    meant to carry calls; provisioning always sends the value explicitly.
    """

    name: str = Field(min_length=1)
    classifications: list[str] = Field(min_length=1, description="API classificationTypes")
    external_trunks: list[str] = Field(min_length=1, description="trunk names (API externalTrunkBases)")
    enabled: bool = True
    distribution: Literal["SEQUENTIAL", "RANDOM"] = "SEQUENTIAL"
    description: str = ""

    @field_validator("distribution", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value


class Site(StrictModel):
    """A telephony site: number plans (top to bottom) and outbound routes (GENESYS.md §8).

    ``country_code`` is the E.164 calling code of the site's location, used by the intra/inter-country
    plans. ``national_prefix`` / ``international_prefix`` default to the NANP values for country code 1
    ("" and "011") and to "0" / "00" elsewhere (INFERRED: RC-NP does not say how prefixes are handled).
    ``emergency_numbers`` fill the default Emergency plan ("location-based", RC-NP): 911 for NANP, else 112.

    ``caller_id`` / ``caller_name`` are the site's *Outbound calls* Caller ID and Caller Name [DOC SDK
    ``Site.caller_id``/``caller_name``, API ``callerId``/``callerName``; RC-PCS: the Site page has them].
    They are the ``Site`` source of ``trunk_calling_id_priority`` (GENESYS.md §3.3, §4.2). The caller ID
    is validated E.164 like the DIDs; the name follows the trunk Calling Name pattern ``^[\\S ]{0,40}$``
    (INFERRED: the SDK gives the site field no pattern, the trunk one [DOC PREM] is reused).
    """

    name: str = Field(min_length=1)
    country_code: str = Field(default="1", pattern=r"^[1-9]\d{0,2}$")
    national_prefix: str | None = Field(default=None, pattern=r"^\d{0,3}$")
    international_prefix: str | None = Field(default=None, pattern=r"^\d{0,4}$")
    emergency_numbers: list[str] | None = None
    number_plans: list[NumberPlan] = Field(default_factory=list)
    outbound_routes: list[OutboundRoute] = Field(default_factory=list)
    description: str = ""
    caller_id: str = Field(default="", description="Outbound calls › Caller ID (API callerId), E.164")
    caller_name: str = Field(
        default="", description="Outbound calls › Caller Name (API callerName)", pattern=r"^[\S ]{0,40}$"
    )

    @field_validator("caller_id")
    @classmethod
    def _caller_id(cls, value: str) -> str:
        return check_e164(value) if value else value

    @property
    def dialing(self) -> DialingContext:
        nanp = self.country_code == "1"
        national = self.national_prefix if self.national_prefix is not None else ("" if nanp else "0")
        international = (
            self.international_prefix if self.international_prefix is not None else ("011" if nanp else "00")
        )
        return DialingContext(self.country_code, national, international)

    @property
    def emergency(self) -> list[str]:
        if self.emergency_numbers is not None:
            return self.emergency_numbers
        return ["911"] if self.country_code == "1" else ["112"]

    def plans(self, *, with_defaults: bool = True) -> tuple[NumberPlan, ...]:
        """The effective ordered list: the site's plans, then the default plans it does not name (§8.1)."""
        return self._with_defaults if with_defaults else tuple(self.number_plans)

    @cached_property
    def _with_defaults(self) -> tuple[NumberPlan, ...]:
        named = {plan.name.casefold() for plan in self.number_plans}
        defaults = [
            plan for plan in default_number_plans(self.emergency) if plan.name.casefold() not in named
        ]
        return (*self.number_plans, *defaults)


class DidRange(StrictModel):
    """A DID range and the inbound call flow its numbers are routed to (GENESYS.md §1 (5), §6).

    ``flow`` None = DIDs that exist but are not routed: a take-back to them fails (lint reports it).
    """

    start: str
    end: str | None = None
    flow: str | None = None
    description: str = ""

    @field_validator("start", "end")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        return None if value is None else check_e164(value)

    @model_validator(mode="after")
    def _ordered(self) -> DidRange:
        end = self.last
        if len(end) != len(self.start) or int(end[1:]) < int(self.start[1:]):
            raise ProblemList(
                [(("end",), f"{end!r} must have the length of {self.start!r} and not be below it")]
            )
        return self

    @property
    def last(self) -> str:
        return self.end or self.start

    def contains(self, number: str) -> bool:
        if len(number) != len(self.start) or not number.startswith("+") or not number[1:].isdigit():
            return False
        return int(self.start[1:]) <= int(number[1:]) <= int(self.last[1:])


class Pstn(StrictModel):
    """The PSTN side: which trunk carries customer calls (GCV or a BYOC carrier trunk, article intro)."""

    trunk: str = Field(min_length=1)
    default_caller: str = "+13175551234"

    @field_validator("default_caller")
    @classmethod
    def _e164(cls, value: str) -> str:
        return check_e164(value)


class Org(StrictModel):
    """The whole Genesys side of the scenario (module doc).

    ``emulator`` is not part of the org: it says how ``takeback cloud`` listens (SIP listeners, REST
    address, TLS files; :class:`~takeback.cloud.config.EmulatorSettings`). It is accepted here so one
    org.yaml serves ``takeback cloud``, ``check``, ``provision`` and lint; only ``takeback cloud`` reads it.
    None = the file has no ``emulator:`` section (or an empty one).
    """

    name: str = "takeback demo org"
    region: str = "us-east-1"
    policies: Policies = Policies()
    pstn: Pstn
    trunks: list[Trunk] = Field(min_length=1)
    sites: list[Site] = Field(min_length=1)
    default_site: str | None = None
    did_ranges: list[DidRange] = Field(default_factory=list)
    flows: list[Flow] = Field(default_factory=list)
    emulator: EmulatorSettings | None = None

    @model_validator(mode="after")
    def _cross_references(self) -> Org:
        problems = [
            *self._name_problems(),
            *self._trunk_problems(),
            *self._site_problems(),
            *self._did_problems(),
        ]
        if problems:
            raise ProblemList(problems)
        return self

    def _name_problems(self) -> Iterator[tuple[Loc, str]]:
        for section, items in (("trunks", self.trunks), ("sites", self.sites), ("flows", self.flows)):
            yield from _duplicates(section, [item.name for item in items])
        if self.default_site is not None and self.default_site not in self.site_names:
            yield ("default_site",), _unknown("site", self.default_site, self.site_names)
        if self.pstn.trunk not in self.trunk_names:
            yield ("pstn", "trunk"), _unknown("trunk", self.pstn.trunk, self.trunk_names)

    def _trunk_problems(self) -> Iterator[tuple[Loc, str]]:
        for index, trunk in enumerate(self.trunks):
            for field in ("inbound_site", "site"):
                value = getattr(trunk, field)
                if value is not None and value not in self.site_names:
                    yield ("trunks", index, field), _unknown("site", value, self.site_names)
            for key in trunk.extra_properties:
                if key in PROPERTY_BY_KEY:
                    yield (
                        ("trunks", index, "extra_properties", key),
                        f"is the setting {PROPERTY_BY_KEY[key].field!r}; set that instead",
                    )

    def _site_problems(self) -> Iterator[tuple[Loc, str]]:
        for s_index, site in enumerate(self.sites):
            loc: Loc = ("sites", s_index)
            yield from _duplicates((*loc, "number_plans"), [plan.name for plan in site.number_plans])
            yield from _duplicates((*loc, "outbound_routes"), [route.name for route in site.outbound_routes])
            total = len(site.plans(with_defaults=self.policies.default_number_plans))
            if total > MAX_NUMBER_PLANS:
                yield (
                    (*loc, "number_plans"),
                    f"{total} plans (with defaults); a site holds at most {MAX_NUMBER_PLANS}",
                )
            owner: dict[str, str] = {}
            for r_index, route in enumerate(site.outbound_routes):
                r_loc = (*loc, "outbound_routes", r_index)
                for t_index, trunk in enumerate(route.external_trunks):
                    if trunk not in self.trunk_names:
                        yield (*r_loc, "external_trunks", t_index), _unknown("trunk", trunk, self.trunk_names)
                for c_index, name in enumerate(route.classifications):
                    if name in owner and self.policies.classification_uniqueness:
                        yield (
                            (*r_loc, "classifications", c_index),
                            f"{name!r} is already used by route {owner[name]!r}; a classification belongs "
                            "to one outbound route per site (policies.classification_uniqueness, "
                            "GENESYS.md §4.1)",
                        )
                    owner.setdefault(name, route.name)

    def _did_problems(self) -> Iterator[tuple[Loc, str]]:
        flow_names = [flow.name for flow in self.flows]
        for index, did in enumerate(self.did_ranges):
            if did.flow is not None and did.flow not in flow_names:
                yield ("did_ranges", index, "flow"), _unknown("flow", did.flow, flow_names)
            for other_index, other in enumerate(self.did_ranges[:index]):
                if other.contains(did.start) or other.contains(did.last) or did.contains(other.start):
                    yield (
                        ("did_ranges", index),
                        f"overlaps did_ranges[{other_index}] ({other.start}-{other.last})",
                    )

    # ----- look-ups -----

    @cached_property
    def trunk_names(self) -> list[str]:
        return [trunk.name for trunk in self.trunks]

    @cached_property
    def site_names(self) -> list[str]:
        return [site.name for site in self.sites]

    def trunk(self, name: str) -> Trunk:
        for trunk in self.trunks:
            if trunk.name == name:
                return trunk
        raise KeyError(name)

    def site(self, name: str | None = None) -> Site:
        """The named site, or the default site (``default_site``, else the first)."""
        wanted = name if name is not None else (self.default_site or self.sites[0].name)
        for site in self.sites:
            if site.name == wanted:
                return site
        raise KeyError(wanted)

    def flow(self, name: str) -> Flow:
        for flow in self.flows:
            if flow.name == name:
                return flow
        raise KeyError(name)

    @property
    def pstn_trunk(self) -> Trunk:
        return self.trunk(self.pstn.trunk)

    def site_for_trunk(self, trunk_name: str) -> Site:
        """Where calls that arrived on a trunk are classified: its inbound site (§4.1 (1), INFERRED)."""
        trunk = self.trunk(trunk_name)
        return self.site(trunk.inbound_site)

    def number_plans(self, site: Site | str | None = None) -> tuple[NumberPlan, ...]:
        """The effective plans of a site, defaults appended per ``policies.default_number_plans``."""
        resolved = site if isinstance(site, Site) else self.site(site)
        return resolved.plans(with_defaults=self.policies.default_number_plans)

    def classifications(self, site: Site | str | None = None) -> list[str]:
        """The classifications a site's plans produce, in plan order (``…/numberplans/classifications``)."""
        return list(dict.fromkeys(plan.classification for plan in self.number_plans(site)))

    def did_range_for(self, number: str) -> DidRange | None:
        return next((did for did in self.did_ranges if did.contains(number)), None)

    def flow_for_did(self, number: str) -> Flow | None:
        """The inbound flow a DID is routed to (exact E.164 match, GENESYS.md §6: route by user part)."""
        did = self.did_range_for(number)
        return self.flow(did.flow) if did is not None and did.flow is not None else None


def _duplicates(loc: str | Loc, names: list[str]) -> Iterator[tuple[Loc, str]]:
    base: Loc = (loc,) if isinstance(loc, str) else loc
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        key = name.casefold()
        if key in seen:
            yield (*base, index, "name"), f"{name!r} is already the name of {base[-1]}[{seen[key]}]"
        seen.setdefault(key, index)


def _unknown(kind: str, name: str, known: list[str]) -> str:
    hint = did_you_mean(name, known)
    tail = f"did you mean {hint!r}?" if hint else f"known: {', '.join(known) or 'none'}"
    return f"no {kind} named {name!r}; {tail}"


def parse_org(data: Any, *, source: str | None = None, base_dir: Path | None = None) -> Org:
    """Validate already-parsed YAML/JSON data; raises :class:`ConfigError`.

    ``base_dir``: where relative file names of the ``emulator.tls`` section are looked up (the org.yaml's
    folder; default the current directory).
    """
    if not isinstance(data, dict):
        raise ConfigError(
            [Problem("", "an org file is a mapping with pstn, trunks and sites")], source=source
        )
    if data.get(EMULATOR_KEY, ...) is None:  # `emulator:` with nothing under it = no section
        data = {key: value for key, value in data.items() if key != EMULATOR_KEY}
    context = {"base_dir": str(base_dir or Path.cwd())}
    return validate_model(Org, data, source=source, context=context)


def load_org(source: str | os.PathLike[str]) -> Org:
    """Load an org from a path, or from YAML text (a ``str`` containing a newline is taken as text)."""
    if isinstance(source, str) and ("\n" in source or not source.strip()):
        return parse_org(read_yaml(source), source=None)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem("", f"cannot read: {exc.strerror or exc}")], source=str(path)) from None
    data = read_yaml(text, source=str(path))
    return parse_org(data, source=str(path), base_dir=path.resolve().parent)


def builtin_org_text() -> str:
    """The text of the built-in org (``takeback/data/org.yaml``, a copy of ``examples/org.yaml``)."""
    return resources.files("takeback").joinpath("data/org.yaml").read_text(encoding="utf-8")


def load_builtin_org() -> Org:
    """The article's org (DESIGN.md §3: ``takeback cloud`` without ``-c``)."""
    return parse_org(
        read_yaml(builtin_org_text(), source="takeback/data/org.yaml"), source="takeback/data/org.yaml"
    )
