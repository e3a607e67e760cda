"""Identifiers drawn in blocks from the injected generator: same shapes, unique, replayable from a seed."""

from __future__ import annotations

import random
import re

from takeback.sip.ids import MAGIC_COOKIE, IdGenerator


def test_shapes() -> None:
    ids = IdGenerator(random.SystemRandom())
    assert re.fullmatch(MAGIC_COOKIE + "[0-9a-f]{16}", ids.branch())
    assert re.fullmatch("[0-9a-f]{12}", ids.tag())
    assert re.fullmatch("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", ids.call_id())


def test_unique_across_several_pool_refills() -> None:
    ids = IdGenerator(random.SystemRandom())
    branches = {ids.branch() for _ in range(3000)}  # 24 KB of random bytes: several refills
    tags = {ids.tag() for _ in range(3000)}
    call_ids = {ids.call_id() for _ in range(1000)}
    assert len(branches) == 3000 and len(tags) == 3000 and len(call_ids) == 1000


def test_a_seed_replays_the_same_identifiers() -> None:
    def draw(seed: int) -> list[str]:
        ids = IdGenerator(random.Random(seed))
        return [f() for _ in range(400) for f in (ids.branch, ids.tag, ids.call_id)]

    assert draw(7) == draw(7)
    assert draw(7) != draw(8)
