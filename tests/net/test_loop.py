from __future__ import annotations

import asyncio
import gc

import pytest

from takeback.net import loop as loops


def test_factory_names() -> None:
    name, factory = loops.loop_factory("asyncio")
    assert name == "asyncio" and factory is asyncio.new_event_loop
    auto, _ = loops.loop_factory("auto")
    assert auto == ("uvloop" if loops.uvloop_available() else "asyncio")
    with pytest.raises(ValueError, match="unknown event loop"):
        loops.loop_factory("trio")


@pytest.mark.parametrize("name", ["asyncio", "uvloop"])
def test_run_uses_the_chosen_loop(name: str) -> None:
    if name == "uvloop" and not loops.uvloop_available():
        with pytest.raises(RuntimeError, match="not installed"):
            loops.loop_factory(name)
        return

    async def which() -> str:
        return type(asyncio.get_running_loop()).__module__

    module = loops.run(which(), loop=name)
    assert module.startswith("uvloop" if name == "uvloop" else "asyncio")


def test_install_best_loop_sets_policy() -> None:
    previous = asyncio.get_event_loop_policy()
    try:
        name = loops.install_best_loop()
        policy = type(asyncio.get_event_loop_policy()).__module__
        assert name == ("uvloop" if loops.uvloop_available() else "asyncio")
        if name == "uvloop":
            assert policy.startswith("uvloop")
    finally:
        asyncio.set_event_loop_policy(previous)


def test_tune_gc_raises_threshold() -> None:
    before = gc.get_threshold()
    try:
        loops.tune_gc(12_345)
        assert gc.get_threshold()[0] == 12_345
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
