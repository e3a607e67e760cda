"""Building frozen, slotted dataclass instances from parts that were validated already.

A frozen dataclass's ``__init__`` (and its ``__post_init__`` checks) costs about a microsecond per field;
the sans-IO codecs build a dozen such values per message from pieces they have just checked, so they
build them through the slots' own setters instead. Shared by :mod:`takeback.sdp`, :mod:`takeback.uui` and
the SIP core's events.
Pure: no state beyond the functions each call returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

__all__ = ["slot_init", "slot_setters", "trusted_builder"]

_T = TypeVar("_T")


def slot_setters(cls: type) -> tuple[Callable[[Any, Any], None], ...]:
    """The setters of a slotted dataclass's fields, in declaration order: the slots' own descriptors, which a
    frozen dataclass's ``__setattr__`` does not stand in front of. For ``trusted_builder`` and the loops that
    build a dozen lines per description (one C call per field instead of a Python call per object)."""
    return tuple(cls.__dict__[item.name].__set__ for item in fields(cls))


def trusted_builder(cls: type[_T]) -> Callable[..., _T]:
    """A constructor for the frozen, slotted dataclass ``cls`` that skips ``__post_init__``.

    Only for instances made from parts that were validated already (pieces of a parsed offer, our own
    configuration): validating once instead of at every step is what keeps offer/answer cheap per call.
    The builder takes every field, ``init=False`` ones included, in declaration order.
    """
    # Generated like the dataclass's own ``__init__``, one setter call per field with no loop (a loop costs
    # as much as the checks it skips): ``def build(v0, v1): made = new(cls); set0(made, v0); ...``.
    setters = slot_setters(cls)
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls}
    namespace.update((f"set{index}", setter) for index, setter in enumerate(setters))
    arguments = ", ".join(f"v{index}" for index in range(len(setters)))
    body = "".join(f"    set{index}(made, v{index})\n" for index in range(len(setters)))
    exec(f"def build({arguments}):\n    made = new(cls)\n{body}    return made\n", namespace)
    build: Callable[..., _T] = namespace["build"]
    build.__qualname__ = build.__name__ = f"trusted_{cls.__name__}"
    return build


def slot_init(cls: type[_T]) -> type[_T]:
    """Give the frozen, slotted dataclass ``cls`` an ``__init__`` that fills the slots through their own
    setters: the dataclass's goes through ``object.__setattr__`` per field, twice the cost, and the SIP core
    builds half a dozen events per call. Same signature; only for classes with no defaults and no
    ``__post_init__``; instances stay frozen (``__setattr__`` still refuses)."""
    names = [item.name for item in fields(cls)]  # type: ignore[arg-type]
    namespace: dict[str, Any] = {f"set{index}": setter for index, setter in enumerate(slot_setters(cls))}
    body = "".join(f"    set{index}(self, {name})\n" for index, name in enumerate(names))
    exec(f"def __init__(self, {', '.join(names)}):\n{body}", namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(cls, "__init__", init)  # noqa: B010 - a method assignment mypy would refuse
    return cls
