"""Events keep their frozen-dataclass contract with the faster slot-filling ``__init__``."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from takeback.sip import events
from takeback.sip.subscription import NotifyView

CLASSES = [getattr(events, name) for name in events.__all__ if name != "Event"] + [NotifyView]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_event_init_takes_the_fields_by_position_and_name_and_stays_frozen(cls):
    names = [item.name for item in dataclasses.fields(cls)]
    assert list(inspect.signature(cls).parameters) == names
    values = [object() for _ in names]
    by_position = cls(*values)
    by_name = cls(**dict(zip(names, values, strict=True)))
    assert by_position == by_name
    assert [getattr(by_position, name) for name in names] == values
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(by_position, names[0], None)
    with pytest.raises(TypeError):
        cls(*values[:-1])
    assert repr(by_position).startswith(f"{cls.__name__}(")
