"""Configuration plumbing shared by org.yaml (:mod:`takeback.cloud`) and device.yaml (:mod:`takeback.device`).

The two loaders are siblings in the layering and may not import each other, so what they share lives here,
below both (stdlib, pydantic and PyYAML only): strict models, a safe YAML reader and one clear line per
problem.

Why not show pydantic's own errors? They name pydantic's types ("Input should be 'udp', 'tcp' or 'tls'
[type=literal_error]"), list a "Field required" next to the typo that caused it, and cannot suggest the
key the user meant. :class:`ConfigError` instead carries :class:`Problem` items that read like
``trunks[0].protocol: 'sctp' is not valid; use one of udp, tcp, tls``.

Validators that find several problems at once (cross references in the org) raise :class:`ProblemList`;
its items keep their own relative paths.

YAML: numbers are the trap. YAML 1.1 reads ``+19999990001`` as the integer 19999990001 (the ``+`` is
lost), ``0456`` as an octal integer and ``10:30`` as a sexagesimal integer. :func:`read_yaml` keeps such
scalars as strings, so E.164 numbers survive unquoted; duplicate keys are errors instead of a silent
"last one wins".
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
    "ProblemList",
    "StrictModel",
    "did_you_mean",
    "format_path",
    "read_yaml",
    "validate_model",
]

Loc = tuple[str | int, ...]
ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Problem:
    """One configuration problem: where (``trunks[0].protocol``) and what (``'sctp' is not valid; …``)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(ValueError):
    """A configuration file that is not valid; ``str()`` gives one line per problem, each prefixed with
    ``source`` (the file) when there is one."""

    def __init__(self, problems: Sequence[Problem], *, source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        lines = [str(problem) for problem in self.problems]
        if source:
            lines = [f"{source}: {line}" for line in lines]
        super().__init__("\n".join(lines))


class ProblemList(ValueError):
    """Raised inside a validator to report several problems with paths relative to the model."""

    def __init__(self, items: Iterable[tuple[Loc, str]]) -> None:
        self.items = tuple(items)
        super().__init__("; ".join(f"{format_path(loc)}: {msg}" for loc, msg in self.items))


class StrictModel(BaseModel):
    """Base of every config model: unknown keys are errors, values are immutable after loading.

    ``coerce_numbers_to_str``: a YAML/JSON number given where text is expected (a header value ``1234567``,
    a short number ``9991``) is taken as its decimal text.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


def format_path(loc: Loc) -> str:
    """``('trunks', 0, 'protocol')`` -> ``trunks[0].protocol``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The closest choice to a misspelt ``word`` (case-insensitive), or None."""
    options = list(choices)
    lowered = {option.lower(): option for option in options}
    if word.lower() in lowered:
        return lowered[word.lower()]
    close = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def validate_model(
    model: type[ModelT],
    data: Any,
    *,
    prefix: Loc = (),
    source: str | None = None,
    context: dict[str, Any] | None = None,
) -> ModelT:
    """``model.model_validate(data)`` with pydantic's errors turned into one :class:`ConfigError`."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise ConfigError(problems_from_validation(exc, model, prefix=prefix), source=source) from None


def problems_from_validation(
    error: ValidationError, root: type[BaseModel], *, prefix: Loc = ()
) -> list[Problem]:
    """Readable :class:`Problem` items for a pydantic error, typos answered with "did you mean"."""
    details = error.errors()
    suggested: set[Loc] = set()
    problems: list[Problem] = []
    for detail in details:
        loc = _clean_loc(tuple(detail["loc"]))
        ctx = detail.get("ctx") or {}
        if isinstance(ctx.get("error"), ProblemList):
            problems.extend(Problem(format_path(prefix + loc + rel), msg) for rel, msg in ctx["error"].items)
            continue
        if detail["type"] == "extra_forbidden":
            message, suggestion = _unknown_key(root, loc)
            if suggestion is not None:
                suggested.add((*loc[:-1], suggestion))
            problems.append(Problem(format_path(prefix + loc), message))
            continue
        problems.append(Problem(format_path(prefix + loc), _message(detail)))
    # A "missing" key explained by a typo next to it ("did you mean …") is not reported twice; nor is a
    # problem that several union members found alike.
    unique: list[Problem] = []
    for problem in problems:
        if problem not in unique and not _explained(problem, suggested, prefix):
            unique.append(problem)
    return unique


def _clean_loc(loc: Loc) -> Loc:
    """Drop pydantic's union-member labels (``function-after[...]``, ``int``, ``str``) from a location."""
    return tuple(part for part in loc if isinstance(part, int) or not _is_internal_label(part))


def _is_internal_label(part: str) -> bool:
    return "[" in part or part in {"int", "str", "float", "bool", "list", "dict", "none"}


def _explained(problem: Problem, suggested: set[Loc], prefix: Loc) -> bool:
    return problem.message == "is required" and problem.path in {format_path(prefix + s) for s in suggested}


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
        return f"{value!r} is not valid; use one of {options}{extra}"
    if kind == "union_tag_invalid":
        tags = re.findall(r"'([^']*)'", ctx.get("expected_tags", ""))
        hint = did_you_mean(str(ctx.get("tag", "")), tags)
        extra = f"; did you mean {hint!r}?" if hint else ""
        return f"{ctx.get('tag')!r} is not valid{extra} (use one of {', '.join(tags)})"
    if kind == "union_tag_not_found":
        hint = "write a one-key mapping like {play: 'Hi'} or a name like disconnect"
        return f"{value!r} is not an action; {hint}"
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
    """Follow a pydantic error location through the annotations to the model that owns it."""
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
    if origin in (list, tuple, Sequence, set, frozenset) and isinstance(part, int) and args:
        return args[0]
    if origin is dict and args:
        return args[1]
    if origin in (Union, types.UnionType):
        return _tagged_member(args, part) or _field_of_member(args, part)
    return None


def _field_of_member(members: Sequence[Any], name: str | int) -> Any:
    """The annotation of field ``name`` in the first union member model that has it."""
    for member in members:
        member = _strip_optional(member)
        if isinstance(member, type) and issubclass(member, BaseModel) and str(name) in member.model_fields:
            return member.model_fields[str(name)].annotation
    return None


def _strip_optional(annotation: Any) -> Any:
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return _strip_optional(members[0])
    return annotation


def _tagged_member(members: Sequence[Any], tag: str | int) -> Any:
    """The member of a discriminated union (``action: Literal[...]``) whose tag is ``tag``."""
    for member in members:
        member = _strip_optional(member)
        if isinstance(member, type) and issubclass(member, BaseModel):
            field = member.model_fields.get("action")
            if field is not None and tag in get_args(field.annotation):
                return member
    return None


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
    """Parse YAML text for a config; syntax errors become a :class:`ConfigError` naming line and column."""
    try:
        return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader subclass
    except ConfigError as exc:
        raise ConfigError(exc.problems, source=source) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "yaml"
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([Problem(where, f"not valid YAML: {reason}")], source=source) from None
