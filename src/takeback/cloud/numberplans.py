"""Site number plans: the six match types, normalization, defaults and top-to-bottom classification.

GENESYS.md §8.1 (RC-NP) and §4.1 (2):

* **e164NumberList** ``+13177151000-+13177152000, +13177152500``: E.164 with ``+``; no normalization.
* **numberList** ``1000,1005-1008``: 2-9 digits, a range's ends have the same length (TF); normalization
  UNKNOWN, so none.
* **digitLength** ``4-6`` (1-20, TF): only digits, length in range; no normalization (default Extension).
* **regex** with a capture-group ``normalizedFormat`` (``+1$1$2$3``, ``sip:$1$2``). Matching uses *search*
  semantics (INFERRED: every documented pattern carries explicit ``^…$`` anchors, which full-match
  semantics would make redundant); ``$n`` of a group that did not take part is empty.
* **intraCountryCode** ``7-10``: the site's own country code (with ``+`` or bare) and 10-15 digits in
  total, or a national number whose length is in the range (a leading national prefix such as ``0`` is
  dropped, INFERRED); normalized to E.164 with the site's country code.
* **interCountryCode** ``44``: ``+`` or the international prefix (``011``/``00``), then one of the listed
  country codes, 10-15 digits; an empty list means any country but the site's own; normalized to E.164.
  Bare digits are not taken as international (INFERRED: they are ambiguous with national numbers).

Plans are tried top to bottom and the first match classifies [DOC BLOG, RC-NP]. "Numbers can be run
through number plans and normalized multiple times" [DOC RC-NP]: :func:`classify` re-runs the list from
the top with the normalized number until a pass leaves it unchanged (or no plan matches it), at most
``max_passes`` times (``Policies.number_plan_passes``). The plan of the last pass classifies, so a
national number normalized to ``+19999990001`` by the National plan reaches an E.164 plan above it.
Every pass records the lower plans that also matched, which makes shadowing visible.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from .config import ProblemList, StrictModel
from .values import is_e164

__all__ = [
    "DEFAULT_PLAN_NAMES",
    "MAX_NUMBER_PLANS",
    "Classification",
    "DialingContext",
    "DigitLength",
    "MatchType",
    "NumberPlan",
    "NumberRange",
    "PlanPass",
    "classify",
    "default_number_plans",
    "match_plan",
]

MatchType = Literal[
    "e164NumberList", "numberList", "digitLength", "regex", "intraCountryCode", "interCountryCode"
]
MAX_NUMBER_PLANS = 200  # [DOC RC-NP, SDK] per site
DEFAULT_PLAN_NAMES: tuple[str, ...] = (
    "Emergency",
    "Extension",
    "National",
    "International",
    "Network",
    "Suicide Prevention",
)
_DIGITS = re.compile(r"^\d+$")
_GROUP_REF = re.compile(r"\\\$|\$(\d+)")
_E164_MIN, _E164_MAX = 10, 15  # RC-NP: intra/inter-country numbers are 10-15 digits long


class NumberRange(StrictModel):
    """``{start, end}`` as in the API's ``numbers`` list; a single number has start == end."""

    start: str
    end: str

    def contains(self, number: str) -> bool:
        if len(number) != len(self.start) or number.startswith("+") != self.start.startswith("+"):
            return False
        digits = number.lstrip("+")
        return digits.isdigit() and int(self.start.lstrip("+")) <= int(digits) <= int(self.end.lstrip("+"))


class DigitLength(StrictModel):
    start: int = Field(ge=1, le=20)
    end: int = Field(ge=1, le=20)

    @model_validator(mode="after")
    def _ordered(self) -> DigitLength:
        if self.start > self.end:
            raise ValueError(f"digit length {self.start}-{self.end} must be ascending")
        return self

    def contains(self, length: int) -> bool:
        return self.start <= length <= self.end


_FIELDS_BY_TYPE: dict[str, tuple[str, ...]] = {
    "e164NumberList": ("numbers",),
    "numberList": ("numbers",),
    "digitLength": ("digit_length",),
    "regex": ("match", "normalized_format"),
    "intraCountryCode": ("digit_length",),
    "interCountryCode": ("country_codes",),
}
_OPTIONAL_FIELDS = ("numbers", "digit_length", "match", "normalized_format", "country_codes")


class NumberPlan(StrictModel):
    """One plan of a site (SDK ``NumberPlan``; ``match`` is TF's ``match_format``)."""

    name: str = Field(min_length=1)
    match_type: MatchType
    classification: str = Field(min_length=1)
    numbers: list[NumberRange] = Field(default_factory=list, description="e164NumberList / numberList")
    digit_length: DigitLength | None = Field(
        default=None, description="digitLength; national lengths for intra"
    )
    match: str = Field(default="", description="regex")
    normalized_format: str = Field(default="", description="regex capture-group template, e.g. '+1$1$2$3'")
    country_codes: list[str] = Field(default_factory=list, description="interCountryCode; empty = any other")

    @field_validator("numbers", mode="before")
    @classmethod
    def _numbers(cls, value: Any) -> Any:
        """Accept the UI text ``"9991,9992-9995"``, a list of such items, or API ``{start, end}`` items."""
        items = [item for item in value.split(",") if item.strip()] if isinstance(value, str) else value
        if not isinstance(items, list):
            return value
        result: list[Any] = []
        for item in items:
            if isinstance(item, (str, int)):
                start, _, end = str(item).strip().partition("-")
                result.append({"start": start.strip(), "end": (end or start).strip()})
            else:
                result.append(item)
        return result

    @field_validator("digit_length", mode="before")
    @classmethod
    def _digit_length(cls, value: Any) -> Any:
        if isinstance(value, (int, str)):
            start, _, end = str(value).partition("-")
            if not start.strip().isdigit() or not (end or start).strip().isdigit():
                raise ValueError(f"{value!r} is not a digit length; write e.g. '4-6' or 5")
            return {"start": int(start), "end": int(end or start)}
        return value

    @field_validator("country_codes", mode="before")
    @classmethod
    def _country_codes(cls, value: Any) -> Any:
        items = [item for item in value.split(",") if item.strip()] if isinstance(value, str) else value
        return [str(item).strip().lstrip("+") for item in items] if isinstance(items, list) else value

    @model_validator(mode="after")
    def _by_match_type(self) -> NumberPlan:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        used = _FIELDS_BY_TYPE[self.match_type]
        for name in _OPTIONAL_FIELDS:
            if name not in used and getattr(self, name):
                problems.append(((name,), f"is not used by match_type {self.match_type}; remove it"))
        problems += _type_problems(self)
        if problems:
            raise ProblemList(problems)
        return self

    @cached_property
    def pattern(self) -> re.Pattern[str] | None:
        return re.compile(self.match) if self.match_type == "regex" else None


def _type_problems(plan: NumberPlan) -> list[tuple[tuple[str | int, ...], str]]:
    kind = plan.match_type
    if kind in ("e164NumberList", "numberList"):
        if not plan.numbers:
            return [(("numbers",), f"a {kind} plan needs at least one number or range")]
        return [
            (("numbers", i), msg) for i, rng in enumerate(plan.numbers) if (msg := _range_problem(kind, rng))
        ]
    if kind == "digitLength" and plan.digit_length is None:
        return [(("digit_length",), "a digitLength plan needs a range like '4-6'")]
    if kind == "regex":
        return _regex_problems(plan)
    if kind == "interCountryCode":
        return [
            (("country_codes", i), f"{code!r} is not a country code (1-3 digits, e.g. '44')")
            for i, code in enumerate(plan.country_codes)
            if not re.match(r"^[1-9]\d{0,2}$", code)
        ]
    return []


def _range_problem(kind: str, rng: NumberRange) -> str | None:
    for text in (rng.start, rng.end):
        if kind == "e164NumberList" and not is_e164(text):
            return f"{text!r} is not E.164 like '+19999990001' (an E.164 Number List needs the '+')"
        if kind == "numberList" and not (_DIGITS.match(text) and 2 <= len(text) <= 9):
            return (
                f"{text!r} is not valid; Number List entries are 2-9 digits (use e164NumberList for +numbers)"
            )
    if len(rng.start) != len(rng.end):
        return f"range {rng.start}-{rng.end}: both ends must have the same length"
    if int(rng.start.lstrip("+")) > int(rng.end.lstrip("+")):
        return f"range {rng.start}-{rng.end} must be ascending"
    return None


def _regex_problems(plan: NumberPlan) -> list[tuple[tuple[str | int, ...], str]]:
    if not plan.match:
        return [(("match",), "a regex plan needs a pattern, e.g. '^(?:\\+?1)?(\\d{3})(\\d{3})(\\d{4})$'")]
    try:
        compiled = re.compile(plan.match)
    except re.error as exc:
        return [(("match",), f"{plan.match!r} is not a valid regular expression: {exc}")]
    refs = [int(m.group(1)) for m in _GROUP_REF.finditer(plan.normalized_format) if m.group(1)]
    bad = [ref for ref in refs if ref > compiled.groups]
    if bad:
        return [
            (
                ("normalized_format",),
                f"${bad[0]} refers to a group the pattern does not have ({compiled.groups} capture groups)",
            )
        ]
    return []


@dataclass(frozen=True, slots=True)
class DialingContext:
    """What a site contributes to matching: its country code and dialing prefixes (INFERRED defaults)."""

    country_code: str = "1"
    national_prefix: str = ""
    international_prefix: str = "011"


def match_plan(plan: NumberPlan, number: str, ctx: DialingContext) -> str | None:
    """The normalized number when ``plan`` matches ``number``, else None."""
    kind = plan.match_type
    if kind in ("e164NumberList", "numberList"):
        return number if any(rng.contains(number) for rng in plan.numbers) else None
    if kind == "digitLength":
        ok = plan.digit_length is not None and plan.digit_length.contains(len(number))
        return number if ok and _DIGITS.match(number) else None
    if kind == "regex":
        return _match_regex(plan, number)
    if kind == "intraCountryCode":
        return _match_intra(plan, number, ctx)
    return _match_inter(plan, number, ctx)


def _match_regex(plan: NumberPlan, number: str) -> str | None:
    assert plan.pattern is not None
    found = plan.pattern.search(number)
    if found is None:
        return None
    if not plan.normalized_format:
        return number

    def expand(ref: re.Match[str]) -> str:
        if ref.group(1) is None:
            return "$"  # "\$" is a literal dollar
        return found.group(int(ref.group(1))) or ""

    return _GROUP_REF.sub(expand, plan.normalized_format)


def _match_intra(plan: NumberPlan, number: str, ctx: DialingContext) -> str | None:
    digits = number[1:] if number.startswith("+") else number
    if not _DIGITS.match(digits):
        return None
    if digits.startswith(ctx.country_code) and _E164_MIN <= len(digits) <= _E164_MAX:
        return "+" + digits
    if number.startswith("+") or plan.digit_length is None:
        return None
    national = digits
    if ctx.national_prefix and national.startswith(ctx.national_prefix):
        national = national[len(ctx.national_prefix) :]
    if plan.digit_length.contains(len(digits)) and national:
        return "+" + ctx.country_code + national
    return None


def _match_inter(plan: NumberPlan, number: str, ctx: DialingContext) -> str | None:
    if number.startswith("+"):
        digits = number[1:]
    elif ctx.international_prefix and number.startswith(ctx.international_prefix):
        digits = number[len(ctx.international_prefix) :]
    else:
        return None
    if not _DIGITS.match(digits) or not _E164_MIN <= len(digits) <= _E164_MAX:
        return None
    if plan.country_codes:
        ok = any(digits.startswith(code) for code in plan.country_codes)
    else:
        ok = not digits.startswith(ctx.country_code)
    return "+" + digits if ok else None


def default_number_plans(emergency_numbers: Sequence[str]) -> list[NumberPlan]:
    """The plans every site gets [DOC RC-NP, TF ``defaultPlans``].

    Plan names double as classification names (INFERRED).
    """
    rows: list[dict[str, Any]] = [
        {"name": "Emergency", "match_type": "numberList", "numbers": list(emergency_numbers)},
        {"name": "Extension", "match_type": "digitLength", "digit_length": "4-6"},
        {"name": "National", "match_type": "intraCountryCode", "digit_length": "7-10"},
        {"name": "International", "match_type": "interCountryCode"},
        {
            "name": "Network",
            "match_type": "regex",
            "match": r"^([^@\:]+@)([^@ ]+)?$",
            "normalized_format": "sip:$1$2",
        },
        {
            "name": "Suicide Prevention",
            "match_type": "regex",
            "match": r"^988$",
            "normalized_format": "+18002738255",
        },
    ]
    return [NumberPlan.model_validate({**row, "classification": row["name"]}) for row in rows]


@dataclass(frozen=True, slots=True)
class PlanPass:
    """One run through the plan list: the number in, the winning plan and what it made of the number."""

    number_in: str
    plan: NumberPlan
    index: int
    number_out: str
    also_matched: tuple[NumberPlan, ...]  # lower plans that matched ``number_in`` too: shadowed by ``plan``


@dataclass(frozen=True, slots=True)
class Classification:
    """The outcome of :func:`classify`; ``plan`` is None when no plan matched the dialed number."""

    dialed: str
    passes: tuple[PlanPass, ...]
    stable: bool  # False when max_passes ran out while the number was still changing

    @property
    def plan(self) -> NumberPlan | None:
        return self.passes[-1].plan if self.passes else None

    @property
    def classification(self) -> str | None:
        return self.passes[-1].plan.classification if self.passes else None

    @property
    def number(self) -> str:
        return self.passes[-1].number_out if self.passes else self.dialed

    @property
    def shadowed(self) -> tuple[NumberPlan, ...]:
        """Plans that matched in some pass but lost to a plan above them."""
        seen: dict[str, NumberPlan] = {}
        for step in self.passes:
            for plan in step.also_matched:
                seen.setdefault(plan.name, plan)
        return tuple(seen.values())


def classify(
    plans: Sequence[NumberPlan], number: str, ctx: DialingContext, *, max_passes: int = 3
) -> Classification:
    """Run ``number`` through ``plans`` top to bottom, re-running on the normalized number (module doc)."""
    current = number.strip()
    passes: list[PlanPass] = []
    for _ in range(max(1, max_passes)):
        hits = [
            (i, plan, out)
            for i, plan in enumerate(plans)
            if (out := match_plan(plan, current, ctx)) is not None
        ]
        if not hits:
            return Classification(number, tuple(passes), stable=True)
        index, plan, out = hits[0]
        passes.append(PlanPass(current, plan, index, out, tuple(hit[1] for hit in hits[1:])))
        if out == current:
            return Classification(number, tuple(passes), stable=True)
        current = out
    return Classification(number, tuple(passes), stable=False)


def plan_to_api(plan: NumberPlan) -> dict[str, Any]:
    """A ``NumberPlan`` body (GENESYS.md §9.3) of an org.yaml plan; no ``id``: the merge adds it.

    ``interCountryCode`` country codes travel as ``numbers`` items (INFERRED, as the emulator does);
    ``digitLength`` values are strings like the API's.
    """
    body: dict[str, Any] = {
        "name": plan.name,
        "matchType": plan.match_type,
        "classification": plan.classification,
    }
    if plan.numbers:
        body["numbers"] = [{"start": rng.start, "end": rng.end} for rng in plan.numbers]
    if plan.country_codes:
        body["numbers"] = [{"start": code, "end": code} for code in plan.country_codes]
    if plan.digit_length is not None:
        body["digitLength"] = {"start": str(plan.digit_length.start), "end": str(plan.digit_length.end)}
    if plan.match_type == "regex":
        body["match"] = plan.match
        if plan.normalized_format:
            body["normalizedFormat"] = plan.normalized_format
    return body
