"""Built-in call flows: a device.yaml ``app.flow`` as a list of steps, and the interpreter that runs them.

A step is a one-key mapping (or a bare name), with a scalar shorthand for its main argument::

    flow:
      - answer
      - play: "Welcome. Please enter your four digit code."
      - collect: {max_digits: 4, timeout: 10s, terminator: "#", into: digits}
      - if:
          variable: digits
          empty: true
          then: [{play: "No code entered."}]
      - take_back:
          number: "+33456456456"
          uui: "{conversation_id}|{digits}"
          on_failure: [{play: "Sorry, the transfer failed."}, hangup]
      - hangup

Templates (``play`` text, ``record`` path, ``take_back`` number and uui) may reference ``{conversation_id}``,
``{call_id}``, ``{caller}``, ``{dnis}``, ``{uui}``, ``{take_back_status}`` and every ``into`` variable of a
``collect`` in the flow; other references are configuration errors, found when device.yaml is loaded.

Semantics (as Architect's, GENESYS.md §1): steps run in order; a successful ``take_back`` ends the flow (the
call now belongs to Genesys again); a failed one runs ``on_failure`` and then continues with the next step;
``hangup`` ends the flow; running off the end hangs up. If the peer hangs up, the flow stops at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol

from pydantic import BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from .errors import CallEnded
from .validation import StrictModel, did_you_mean, parse_duration

__all__ = [
    "BUILTIN_VARIABLES",
    "STEP_NAMES",
    "Answer",
    "Collect",
    "FlowCall",
    "FlowOutcome",
    "Hangup",
    "If",
    "Play",
    "Record",
    "Step",
    "TakeBack",
    "check_references",
    "render",
    "run_flow",
]

BUILTIN_VARIABLES: tuple[str, ...] = (
    "conversation_id",
    "call_id",
    "caller",
    "dnis",
    "uui",
    "take_back_status",
)
_REFERENCE = re.compile(r"\{([A-Za-z_]\w*)\}")
_VARIABLE = re.compile(r"^[a-z_][a-z0-9_]*$")


def _duration(value: Any) -> float:
    return parse_duration(value)


class Answer(StrictModel):
    action: Literal["answer"] = "answer"


class Hangup(StrictModel):
    action: Literal["hangup"] = "hangup"


class Play(StrictModel):
    """Play a prompt: text is spoken (espeak-ng), a path ending in ``.wav`` is played as recorded.
    ``barge_in``: a key stops it (the key stays typed-ahead for the next ``collect``)."""

    action: Literal["play"] = "play"
    prompt: str = Field(min_length=1)
    barge_in: bool = False


class Collect(StrictModel):
    """Collect DTMF digits (RFC 4733) into a variable; an optional prompt is played first (a key
    interrupts it and counts as the first digit)."""

    action: Literal["collect"] = "collect"
    max_digits: int = Field(default=4, ge=1, le=32)
    timeout: Annotated[float, BeforeValidator(_duration)] = 5.0
    terminator: str = Field(default="#", pattern=r"^[0-9*#]?$")
    into: str = "digits"
    prompt: str | None = None

    @field_validator("into")
    @classmethod
    def _into(cls, value: str) -> str:
        if not _VARIABLE.match(value) or value in BUILTIN_VARIABLES:
            raise ValueError(
                f"{value!r} cannot be a variable name; use lower-case letters, digits and _ "
                f"(not one of {', '.join(BUILTIN_VARIABLES)})"
            )
        return value


class Record(StrictModel):
    """Record the caller to a WAV file (path template) for at most ``max_seconds``."""

    action: Literal["record"] = "record"
    path: str = Field(min_length=1)
    max_seconds: Annotated[float, BeforeValidator(_duration)] = 30.0

    @field_validator("path")
    @classmethod
    def _relative_to_config(cls, value: str, info: ValidationInfo) -> str:
        """A relative path is taken relative to the directory of device.yaml, like every config path."""
        base = (info.context or {}).get("base_dir")
        if base is None or Path(value).expanduser().is_absolute():
            return value
        return str(Path(base) / value)

    @field_validator("max_seconds")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError(f"{value!r} is not valid; max_seconds must be above 0")
        return value


class TakeBack(StrictModel):
    """REFER the call back to Genesys (GENESYS.md §6). ``number`` defaults to ``take_back.number``."""

    action: Literal["take_back"] = "take_back"
    number: str | None = None
    uui: str | None = None
    on_failure: list[Step] = Field(default_factory=list)


class If(StrictModel):
    """Branch on a variable: exactly one of ``equals``, ``not_equals``, ``matches`` (regex), ``empty``."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True, populate_by_name=True)

    action: Literal["if"] = "if"
    variable: str
    equals: str | None = None
    not_equals: str | None = None
    matches: str | None = None
    empty: bool | None = None
    then: list[Step] = Field(default_factory=list)
    else_: list[Step] = Field(default_factory=list, alias="else")

    @model_validator(mode="after")
    def _one_condition(self) -> If:
        given = [n for n in ("equals", "not_equals", "matches", "empty") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of equals, not_equals, matches, empty (got {', '.join(given) or 'none'})"
            )
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as exc:
                raise ValueError(f"matches: {self.matches!r} is not a valid regex: {exc}") from None
        return self

    def holds(self, variables: Mapping[str, str]) -> bool:
        value = variables.get(self.variable, "")
        if self.equals is not None:
            return value == self.equals
        if self.not_equals is not None:
            return value != self.not_equals
        if self.matches is not None:
            return re.fullmatch(self.matches, value) is not None
        return (value == "") is bool(self.empty)


# The argument a scalar shorthand fills (``- play: "Hello"``); None: the step takes no scalar.
_SHORTHAND: dict[str, str | None] = {
    "answer": None,
    "play": "prompt",
    "collect": "max_digits",
    "record": "path",
    "take_back": "number",
    "if": None,
    "hangup": None,
}
STEP_NAMES: tuple[str, ...] = tuple(_SHORTHAND)


def _expand_step(item: Any) -> Any:
    """``{"play": "Hi"}`` / ``"hangup"`` -> ``{"action": "play", "prompt": "Hi"}``."""
    if isinstance(item, str):
        item = {item.strip(): None}
    if not isinstance(item, dict) or "action" in item or len(item) != 1:
        return item
    ((name, args),) = item.items()
    if str(name) not in _SHORTHAND:
        hint = did_you_mean(str(name), STEP_NAMES)
        extra = f"did you mean {hint!r}? " if hint else ""
        raise ValueError(f"{name!r} is not a step; {extra}(use one of {', '.join(STEP_NAMES)})")
    if args is None:
        return {"action": name}
    if isinstance(args, dict):
        return {"action": name, **args}
    main = _SHORTHAND.get(str(name))
    if main is None:
        raise ValueError(f"step {name!r} takes a mapping of options, not {args!r}")
    return {"action": name, main: args}


def _expand_steps(value: Any) -> Any:
    return [_expand_step(item) for item in value] if isinstance(value, list) else value


Step = Annotated[
    Answer | Play | Collect | Record | TakeBack | If | Hangup,
    Field(discriminator="action"),
    BeforeValidator(_expand_step),
]
StepList = Annotated[list[Step], BeforeValidator(_expand_steps)]

TakeBack.model_rebuild()
If.model_rebuild()


def walk(
    steps: Sequence[Any], path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every step of a flow tree with its location (``(2, 'take_back', 'on_failure', 0)``)."""
    for index, step in enumerate(steps):
        here = (*path, index)
        yield here, step
        if isinstance(step, TakeBack):
            yield from walk(step.on_failure, (*here, "take_back", "on_failure"))
        elif isinstance(step, If):
            yield from walk(step.then, (*here, "if", "then"))
            yield from walk(step.else_, (*here, "if", "else"))


def _templates(step: Any) -> list[tuple[str, str]]:
    texts: list[tuple[str, str | None]] = []
    if isinstance(step, Play | Collect):
        texts = [("prompt", step.prompt)]
    elif isinstance(step, Record):
        texts = [("path", step.path)]
    elif isinstance(step, TakeBack):
        texts = [("number", step.number), ("uui", step.uui)]
    return [(name, text) for name, text in texts if text is not None]


def check_references(steps: Sequence[Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """Template references and ``if`` variables that no built-in or ``collect`` defines."""
    known = set(BUILTIN_VARIABLES)
    known.update(step.into for _, step in walk(steps) if isinstance(step, Collect))
    choices = ", ".join(sorted(known))
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for loc, step in walk(steps):
        for name, text in _templates(step):
            for ref in _REFERENCE.findall(text):
                if ref not in known:
                    problems.append(
                        ((*loc, step.action, name), f"unknown variable {{{ref}}}; use one of {choices}")
                    )
        if isinstance(step, If) and step.variable not in known:
            problems.append(
                ((*loc, "if", "variable"), f"unknown variable {step.variable!r}; use one of {choices}")
            )
    return problems


def render(text: str, variables: Mapping[str, str]) -> str:
    """Replace ``{name}`` references; unknown ones stay as written (they were rejected at load time)."""
    parts = _template_parts(text)
    if len(parts) == 1:
        return text
    out = list(parts)
    for at in range(1, len(parts), 2):
        name = parts[at]
        out[at] = variables.get(name, "{" + name + "}")
    return "".join(out)


@lru_cache(maxsize=256)
def _template_parts(text: str) -> tuple[str, ...]:
    """``"a{x}b"`` -> ``("a", "x", "b")``: literal text and reference names alternate. A flow's templates
    come from its configuration and are rendered once per call: each is split once."""
    return tuple(_REFERENCE.split(text))


# ------------------------------------------------------------------------------------------- running


class TransferOutcome(Protocol):
    @property
    def success(self) -> bool: ...

    @property
    def status(self) -> int | None: ...


class FlowCall(Protocol):
    """What the interpreter needs from a call: the public :class:`takeback.device.Call` API."""

    @property
    def variables(self) -> dict[str, str]: ...

    async def answer(self) -> None: ...

    async def play(self, path_or_text: str, *, barge_in: bool = False) -> Any: ...

    async def collect(self, max_digits: int, timeout: float, terminator: str) -> str: ...

    async def record(self, path: str, max_seconds: float) -> Any: ...

    async def take_back(self, number: str, uui: str | None = None) -> TransferOutcome: ...

    async def hangup(self) -> None: ...


@dataclass(slots=True)
class FlowOutcome:
    """How a flow ended: ``taken-back``, ``hangup`` (a step or the end of the flow), or ``peer-ended``."""

    ended_by: str
    variables: dict[str, str] = field(default_factory=dict)
    steps_run: int = 0


class _Stop(Exception):
    def __init__(self, ended_by: str) -> None:
        self.ended_by = ended_by


async def run_flow(call: FlowCall, steps: Sequence[Any], *, default_number: str) -> FlowOutcome:
    """Run ``steps`` on ``call``; ``default_number`` is the take-back DID when a step names none."""
    variables = call.variables
    counter = [0]
    try:
        await _run_steps(call, steps, variables, default_number, counter)
        await call.hangup()
        ended_by = "hangup"
    except _Stop as stop:
        ended_by = stop.ended_by
    except CallEnded:
        ended_by = "peer-ended"
    return FlowOutcome(ended_by, dict(variables), counter[0])


async def _run_steps(
    call: FlowCall,
    steps: Sequence[Any],
    variables: MutableMapping[str, str],
    default_number: str,
    counter: list[int],
) -> None:
    # Each step runs inline rather than as a coroutine of its own: every coroutine layer is resumed again
    # at each await inside a verb (the media port, the ACK, the REFER's 202 and NOTIFY, the BYE).
    for step in steps:
        counter[0] += 1
        if isinstance(step, Answer):
            await call.answer()
        elif isinstance(step, Play):
            await call.play(render(step.prompt, variables), barge_in=step.barge_in)
        elif isinstance(step, Collect):
            if step.prompt is not None:
                await call.play(render(step.prompt, variables), barge_in=True)
            variables[step.into] = await call.collect(step.max_digits, step.timeout, step.terminator)
        elif isinstance(step, Record):
            await call.record(render(step.path, variables), step.max_seconds)
        elif isinstance(step, TakeBack):
            number = render(step.number, variables) if step.number is not None else default_number
            uui = render(step.uui, variables) if step.uui is not None else None
            result = await call.take_back(number, uui=uui)
            variables["take_back_status"] = "" if result.status is None else str(result.status)
            if result.success:
                raise _Stop("taken-back")
            await _run_steps(call, step.on_failure, variables, default_number, counter)
        elif isinstance(step, If):
            branch = step.then if step.holds(variables) else step.else_
            await _run_steps(call, branch, variables, default_number, counter)
        elif isinstance(step, Hangup):
            await call.hangup()
            raise _Stop("hangup")
        else:  # pragma: no cover - the model admits no other step
            raise TypeError(f"unknown flow step {step!r}")
