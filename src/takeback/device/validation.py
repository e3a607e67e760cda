"""Validation plumbing for device.yaml: strict models, a safe YAML reader, one clear line per problem.

The same contract as the emulator's org.yaml loader (``takeback.cloud.config``), written for the device so
that the two peers of the layering (device, cloud) do not import each other: a :class:`ConfigError` reads
``access.acl_action: 'reject' is not valid; use one of drop, 403`` — the field path, the bad value and what
would be valid — with "did you mean" for misspelt keys, never a pydantic dump or a traceback.

YAML 1.1 traps handled by :func:`read_yaml`: ``+19999990001`` would be read as the integer 19999990001 (the
``+`` lost), ``0456`` as octal and ``10:30`` as a sexagesimal integer; all three stay text. Duplicate keys
are errors instead of a silent "last one wins".
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = [
    "ConfigError",
    "Problem",
    "StrictModel",
    "did_you_mean",
    "format_path",
    "parse_duration",
    "read_yaml",
    "validate_model",
]

Loc = tuple[str | int, ...]
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Problem:
    """One configuration problem: where (``access.ip_acl[1]``) and what (``'10.0.0.300' is not …``)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(ValueError):
    """A device.yaml that is not valid; ``str()`` gives one line per problem."""

    def __init__(self, problems: Sequence[Problem], *, source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        lines = [str(problem) for problem in self.problems]
        if source:
            lines = [f"{source}: {line}" for line in lines]
        super().__init__("\n".join(lines))


class StrictModel(BaseModel):
    """Base of every device.yaml model: unknown keys are errors, values immutable once loaded.

    ``coerce_numbers_to_str``: ``value: 1234567`` or ``- 9991`` written unquoted is taken as its text.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


_DURATION = re.compile(r"^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$")


def parse_duration(value: Any) -> float:
    """Seconds from a number (``30``, ``0.5``) or text (``"2m"``, ``"90s"``, ``"1m30s"``, ``"500ms"``)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; write e.g. 30, '90s' or '2m'")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip()
        match = _DURATION.match(text)
        if not text or match is None or not any(match.groups()):
            try:
                seconds = float(text)
            except ValueError:
                raise ValueError(f"{value!r} is not a duration; write e.g. 30, '90s' or '2m'") from None
        else:
            hours, minutes, secs, millis = match.groups()
            seconds = (
                int(hours or 0) * 3600.0
                + int(minutes or 0) * 60.0
                + float(secs or 0)
                + int(millis or 0) / 1e3
            )
    if not seconds >= 0 or seconds == float("inf"):
        raise ValueError(f"{value!r} is not a duration; it must be a finite number of seconds >= 0")
    return seconds


def format_path(loc: Loc) -> str:
    """``('access', 'ip_acl', 1)`` -> ``access.ip_acl[1]``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The closest choice to a misspelt ``word`` (case-insensitive), or None."""
    lowered = {option.lower(): option for option in choices}
    if word.lower() in lowered:
        return lowered[word.lower()]
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def validate_model(
    model: type[ModelT], data: Any, *, source: str | None = None, context: dict[str, Any] | None = None
) -> ModelT:
    """``model.model_validate(data)`` with pydantic's errors turned into one :class:`ConfigError`."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise ConfigError(problems_from_validation(exc, model), source=source) from None


def problems_from_validation(error: ValidationError, root: type[BaseModel]) -> list[Problem]:
    """Readable :class:`Problem` items for a pydantic error; typos answered with "did you mean"."""
    suggested: set[str] = set()
    problems: list[Problem] = []
    for detail in error.errors():
        loc = _clean_loc(tuple(detail["loc"]))
        if detail["type"] == "extra_forbidden":
            message, suggestion = _unknown_key(root, loc)
            if suggestion is not None:
                suggested.add(format_path((*loc[:-1], suggestion)))
            problems.append(Problem(format_path(loc), message))
            continue
        problems.append(Problem(format_path(loc), _message(detail)))
    # A "missing" key explained by a misspelling next to it is not reported twice.
    unique: list[Problem] = []
    for problem in problems:
        if problem.message == "is required" and problem.path in suggested:
            continue
        if problem not in unique:
            unique.append(problem)
    return unique


def _clean_loc(loc: Loc) -> Loc:
    """Drop pydantic's union-member labels (``function-after[...]``, ``int``, ``str``) from a location."""
    return tuple(part for part in loc if isinstance(part, int) or not _is_internal_label(part))


def _is_internal_label(part: str) -> bool:
    return "[" in part or part in {"int", "str", "float", "bool", "list", "dict", "none"} or "-" in part


def _message(detail: Any) -> str:
    kind = detail["type"]
    ctx = detail.get("ctx") or {}
    value = detail.get("input")
    if kind == "missing":
        return "is required"
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        options = ", ".join(re.findall(r"'([^']*)'", expected)) or expected.replace(" or ", ", ")
        hint = did_you_mean(str(value), options.split(", ")) if re.search("[A-Za-z]", str(value)) else None
        extra = f"; did you mean {hint!r}?" if hint and hint != str(value) else ""
        return f"{value!r} is not valid{extra}; use one of {options}"
    if kind == "union_tag_invalid":
        tags = re.findall(r"'([^']*)'", ctx.get("expected_tags", ""))
        hint = did_you_mean(str(ctx.get("tag", "")), tags)
        extra = f"did you mean {hint!r}? " if hint else ""
        return f"{ctx.get('tag')!r} is not valid; {extra}(use one of {', '.join(tags)})"
    if kind in {"value_error", "assertion_error"}:
        return str(ctx.get("error", detail["msg"]))
    text = str(detail["msg"])
    for pydantic_words, ours in _REWORDING:
        text = text.replace(pydantic_words, ours)
    return f"{value!r} is not valid; {text}"


_REWORDING = (
    ("Input should be", "must be"),
    ("Input should", "must"),
    ("String should", "must"),
    ("List should", "must"),
    ("Dictionary should", "must"),
    ("Value should", "must"),
)


def _unknown_key(root: type[BaseModel], loc: Loc) -> tuple[str, str | None]:
    key = str(loc[-1])
    parent = _model_at(root, loc[:-1])
    if parent is None:
        return f"unknown key {key!r}", None
    allowed = list(parent.model_fields)
    hint = did_you_mean(key, allowed)
    if hint is not None:
        return f"unknown key {key!r}; did you mean {hint!r}?", hint
    return f"unknown key {key!r}; valid keys: {', '.join(allowed)}", None


def _model_at(root: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """Follow an error location through the annotations to the model that owns it."""
    current: Any = root
    for part in loc:
        current = _unwrap(current, part)
        if current is None:
            return None
    current = _strip_optional(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any, part: str | int) -> Any:
    annotation = _strip_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return field.annotation if field is not None else None
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (list, tuple, Sequence) and isinstance(part, int) and args:
        return args[0]
    if origin is dict and args:
        return args[1]
    if origin in (Union, types.UnionType):
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        for model in models:
            if str(part) in model.model_fields:
                return model.model_fields[str(part)].annotation
    return None


def _strip_optional(annotation: Any) -> Any:
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return _strip_optional(members[0])
    return annotation


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps ``+1999…``, ``0456`` and ``10:30`` as text and rejects duplicate keys."""


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    text = str(node.value)
    if text.startswith("+") or (text.startswith("0") and len(text) > 1) or ":" in text:
        return text
    return yaml.SafeLoader.construct_yaml_int(loader, node)


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            mark = key_node.start_mark
            raise ConfigError([Problem(f"line {mark.line + 1}", f"duplicate key {key!r}")])
        result[key] = loader.construct_object(value_node, deep=True)
    return result


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(text: str, *, source: str | None = None) -> Any:
    """Parse YAML text; syntax errors become a :class:`ConfigError` naming the line and column."""
    try:
        return yaml.load(text, Loader=_Loader)
    except ConfigError as exc:
        raise ConfigError(exc.problems, source=source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "yaml"
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Problem(where, f"not valid YAML: {reason}")], source=source) from None
