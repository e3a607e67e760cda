"""Architect-lite: inbound call flows as a list of actions, and a pure step function to run them.

Only what the take-back scenario needs (GENESYS.md §1):

* ``set_uui`` - *Set UUI Data* with "Outgoing UUI Data = For Transfers": plain text, the trunk encodes it
  (hex by default) on the next transfer [DOC BLOG];
* ``transfer_to_number`` - *Transfer to Number*: the number goes through the site's number plans and
  outbound routes, the UUI set before rides on the INVITE [DOC BLOG, RC-T2N]. ``release_link_transfer:
  true`` is Architect's "Perform release link transfer": the carrier gets a REFER instead when the call's
  trunk has Release Link Transfer on, else the transfer is bridged as usual [DOC RC-T2N] (:mod:`.rlt`);
* ``transfer_via_api`` - the same transfer requested through a Platform API data action: **the data set
  with Set UUI Data is ignored** [DOC BLOG], so the effect carries no UUI (and says what was dropped);
* ``play`` (a prompt: text for TTS or a ``.wav`` path), ``collect`` (digits into a ``Flow.`` variable),
  ``set_participant_data`` (attributes, e.g. to record ``Call.UUIData``), ``disconnect``.

In org.yaml an action is a one-key mapping, with a scalar shorthand for its main argument::

    actions:
      - set_uui: "This is my data"
      - transfer_to_number: "9991"
      - transfer_to_number: {number: "+19999990001", release_link_transfer: true}
      - collect: {variable: Flow.pin, max_digits: 4, terminator: "#"}
      - set_participant_data: {takeback_uui: "{Call.UUIData}"}
      - disconnect

Text may reference ``{Call.UUIData}``, ``{Call.Ani}``, ``{Call.CalledAddress}``, ``{Call.ConversationId}``
and ``Flow.`` variables set by an earlier ``collect``; other references are config errors.

Running (pure, no I/O): :func:`start_flow` then :func:`step` repeatedly. ``step`` performs the actions
that need no outside world (``set_uui``, ``set_participant_data``) and stops at the first one that does,
returning it as an effect. The runtime calls ``step`` again when a prompt finished, with the digits after
a collect, and after a *failed* transfer (Architect's failure path continues with the next action); a
successful transfer ends the flow. Running off the end disconnects, as in Architect.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from .config import ProblemList, StrictModel
from .values import parse_duration

__all__ = [
    "ACTION_NAMES",
    "BUILTIN_VARIABLES",
    "Action",
    "Collect",
    "CollectDigits",
    "Disconnect",
    "DisconnectCall",
    "Effect",
    "Flow",
    "FlowRun",
    "Play",
    "PlayPrompt",
    "SetParticipantData",
    "SetUui",
    "TransferCall",
    "TransferToNumber",
    "TransferViaApi",
    "render",
    "start_flow",
    "step",
]

BUILTIN_VARIABLES: tuple[str, ...] = ("Call.Ani", "Call.CalledAddress", "Call.ConversationId", "Call.UUIData")
_REFERENCE = re.compile(r"\{([A-Za-z]+\.[A-Za-z_]\w*)\}")
_FLOW_VARIABLE = re.compile(r"^Flow\.[A-Za-z_]\w*$")


class SetUui(StrictModel):
    """Set UUI Data, Outgoing UUI Data = For Transfers."""

    action: Literal["set_uui"] = "set_uui"
    data: str


class TransferToNumber(StrictModel):
    """Transfer to Number; ``connect_timeout`` interacts with the trunk's Max Dial Timeout (RC-T2N)."""

    action: Literal["transfer_to_number"] = "transfer_to_number"
    number: str = Field(min_length=1)
    connect_timeout: str | None = None
    release_link_transfer: bool = Field(
        default=False, description="Architect 'Perform release link transfer' (§6)"
    )

    @field_validator("connect_timeout")
    @classmethod
    def _timeout(cls, value: str | None) -> str | None:
        if value is not None:
            parse_duration(value)
        return value


class TransferViaApi(StrictModel):
    """A transfer requested through the Platform API while in the flow: Set UUI Data is ignored [DOC BLOG]."""

    action: Literal["transfer_via_api"] = "transfer_via_api"
    number: str = Field(min_length=1)


class Play(StrictModel):
    action: Literal["play"] = "play"
    prompt: str = Field(min_length=1, description="text to speak, or a path to a .wav file")


class Collect(StrictModel):
    action: Literal["collect"] = "collect"
    variable: str
    max_digits: int = Field(default=1, ge=1, le=32)
    timeout: str = "5s"
    terminator: str = Field(default="#", pattern=r"^[0-9*#]?$")
    prompt: str = ""

    @field_validator("variable")
    @classmethod
    def _variable(cls, value: str) -> str:
        if not _FLOW_VARIABLE.match(value):
            raise ValueError(f"{value!r} is not a flow variable; write e.g. 'Flow.pin'")
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: str) -> str:
        parse_duration(value)
        return value


class SetParticipantData(StrictModel):
    action: Literal["set_participant_data"] = "set_participant_data"
    attributes: dict[str, str] = Field(min_length=1)


class Disconnect(StrictModel):
    action: Literal["disconnect"] = "disconnect"


Action = Annotated[
    SetUui | TransferToNumber | TransferViaApi | Play | Collect | SetParticipantData | Disconnect,
    Field(discriminator="action"),
]
# The argument a scalar shorthand fills (``- play: "Hello"``).
_SHORTHAND: dict[str, str | None] = {
    "set_uui": "data",
    "transfer_to_number": "number",
    "transfer_via_api": "number",
    "play": "prompt",
    "collect": "variable",
    "set_participant_data": "attributes",
    "disconnect": None,
}
ACTION_NAMES: tuple[str, ...] = tuple(_SHORTHAND)


def _expand_action(item: Any) -> Any:
    """``{"play": "Hi"}`` / ``"disconnect"`` -> ``{"action": "play", "prompt": "Hi"}`` (module doc)."""
    if isinstance(item, str):
        return {"action": item.strip()}
    if not isinstance(item, dict) or "action" in item or len(item) != 1:
        return item
    ((name, args),) = item.items()
    main = _SHORTHAND.get(name)
    if args is None:
        return {"action": name}
    if isinstance(args, dict) and not (name == "set_participant_data" and "attributes" not in args):
        return {"action": name, **args}
    return {"action": name, main: args} if main else {"action": name, "_": args}


class Flow(StrictModel):
    """An Architect inbound call flow (``INBOUNDCALL``)."""

    name: str = Field(min_length=1)
    type: Literal["inboundCall"] = "inboundCall"
    description: str = ""
    actions: list[Action] = Field(min_length=1)

    @field_validator("actions", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return [_expand_action(item) for item in value] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _references(self) -> Flow:
        known = set(BUILTIN_VARIABLES)
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for index, action in enumerate(self.actions):
            for name, text in _texts(action):
                for ref in _REFERENCE.findall(text):
                    if ref not in known:
                        hint = (
                            "set it with an earlier collect"
                            if ref.startswith("Flow.")
                            else ("use one of " + ", ".join(BUILTIN_VARIABLES))
                        )
                        problems.append(
                            (("actions", index, action.action, name), f"unknown variable {{{ref}}}; {hint}")
                        )
            if isinstance(action, Collect):
                known.add(action.variable)
        if problems:
            raise ProblemList(problems)
        return self

    @property
    def sets_uui(self) -> bool:
        return any(isinstance(action, SetUui) for action in self.actions)


def _texts(action: Any) -> list[tuple[str, str]]:
    """The templated text fields of an action (name, text)."""
    if isinstance(action, SetParticipantData):
        return [(f"attributes.{key}", value) for key, value in action.attributes.items()]
    names = {
        "set_uui": ("data",),
        "transfer_to_number": ("number",),
        "transfer_via_api": ("number",),
        "play": ("prompt",),
        "collect": ("prompt",),
    }.get(action.action, ())
    return [(name, getattr(action, name)) for name in names]


def render(text: str, variables: Mapping[str, str]) -> str:
    """Replace ``{Call.UUIData}``-style references (unknown ones are left as written)."""
    return _REFERENCE.sub(lambda m: variables.get(m.group(1), m.group(0)), text)


# ----- effects: what the runtime must do -----


@dataclass(frozen=True, slots=True)
class PlayPrompt:
    prompt: str


@dataclass(frozen=True, slots=True)
class CollectDigits:
    variable: str
    max_digits: int
    timeout_s: float
    terminator: str
    prompt: str


@dataclass(frozen=True, slots=True)
class TransferCall:
    """Transfer out. ``uui`` is the Set UUI Data text for the trunk to encode (None: nothing to send)."""

    number: str
    uui: str | None
    via_api: bool = False
    dropped_uui: str | None = None  # set by transfer_via_api when Set UUI Data was ignored [DOC BLOG]
    release_link_transfer: bool = False
    connect_timeout_s: float | None = None


@dataclass(frozen=True, slots=True)
class DisconnectCall:
    reason: Literal["action", "end_of_flow"]


Effect = PlayPrompt | CollectDigits | TransferCall | DisconnectCall


@dataclass(frozen=True, slots=True)
class FlowRun:
    """The state of one flow execution; immutable, every :func:`step` returns a new one."""

    flow: Flow
    position: int = 0
    variables: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    outgoing_uui: str | None = None
    participant_data: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    awaiting: str | None = None  # variable waiting for the digits of a collect
    finished: bool = False


def start_flow(
    flow: Flow, *, ani: str = "", dnis: str = "", conversation_id: str = "", uui_data: str | None = None
) -> FlowRun:
    """A fresh run; ``uui_data`` is ``Call.UUIData`` (e.g. decoded from the take-back Refer-To, §5.2)."""
    variables = {
        "Call.Ani": ani,
        "Call.CalledAddress": dnis,
        "Call.ConversationId": conversation_id,
        "Call.UUIData": uui_data or "",
    }
    return FlowRun(flow, variables=MappingProxyType(variables))


def step(run: FlowRun, result: str | None = None) -> tuple[FlowRun, Effect]:
    """Advance to the next effect (module doc); ``result`` = the digits of the pending collect."""
    if run.awaiting is not None:
        variables = {**run.variables, run.awaiting: result or ""}
        run = replace(run, variables=MappingProxyType(variables), awaiting=None)
    actions = run.flow.actions
    while not run.finished and run.position < len(actions):
        action = actions[run.position]
        run = replace(run, position=run.position + 1)
        run, effect = _apply(run, action)
        if effect is not None:
            return run, effect
    return replace(run, finished=True), DisconnectCall("action" if run.finished else "end_of_flow")


def _apply(run: FlowRun, action: Any) -> tuple[FlowRun, Effect | None]:
    values = run.variables
    if isinstance(action, SetUui):
        return replace(run, outgoing_uui=render(action.data, values)), None
    if isinstance(action, SetParticipantData):
        data = {**run.participant_data, **{k: render(v, values) for k, v in action.attributes.items()}}
        return replace(run, participant_data=MappingProxyType(data)), None
    if isinstance(action, Play):
        return run, PlayPrompt(render(action.prompt, values))
    if isinstance(action, Collect):
        effect = CollectDigits(
            action.variable,
            action.max_digits,
            parse_duration(action.timeout),
            action.terminator,
            render(action.prompt, values),
        )
        return replace(run, awaiting=action.variable), effect
    if isinstance(action, TransferToNumber):
        timeout = parse_duration(action.connect_timeout) if action.connect_timeout else None
        number = render(action.number, values)
        return run, TransferCall(number, run.outgoing_uui, False, None, action.release_link_transfer, timeout)
    if isinstance(action, TransferViaApi):
        return run, TransferCall(
            render(action.number, values), None, via_api=True, dropped_uui=run.outgoing_uui
        )
    return replace(run, finished=True), DisconnectCall("action")
