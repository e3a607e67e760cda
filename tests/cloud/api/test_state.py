"""OrgState: one org for REST and SIP, ids that survive renames, versions, listeners."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from takeback.cloud import Org, load_builtin_org
from takeback.cloud.api import ApiError, OrgState
from takeback.cloud.api.state import Registry, fields_of, rebuild

from ..orgdata import make_org


def _clock() -> datetime:
    return datetime(2026, 1, 5, tzinfo=UTC)


def test_ids_of_org_yaml_entities_are_stable_across_runs() -> None:
    first, second = OrgState(load_builtin_org()), OrgState(load_builtin_org())
    for registry in ("trunks", "sites"):
        assert [m.id for m in getattr(first, registry)] == [m.id for m in getattr(second, registry)]
    site_id = first.sites.meta_of("Daly City").id
    assert [m.id for m in first.plans[site_id]] == [m.id for m in second.plans[site_id]]
    assert len({m.id for m in first.plans[site_id]}) == len(first.org.number_plans())  # defaults too


def test_commit_swaps_the_org_bumps_the_version_and_tells_listeners() -> None:
    state = OrgState(make_org(), clock=_clock, new_id=iter(f"id-{n}" for n in range(100)).__next__)
    seen: list[Org] = []
    unsubscribe = state.subscribe(seen.append)
    fields = fields_of(state.org)
    fields["trunks"] = [*state.org.trunks, rebuild(state.org.trunk("Device"), name="Device2")]
    new = state.validate(fields)
    state.commit(new)
    assert state.org is new and state.version == 1 and seen == [new]
    assert state.trunks.meta_of("Device2").id == "id-0"  # created after loading: a fresh id
    unsubscribe()
    state.replace(make_org())
    assert state.version == 2 and len(seen) == 1
    assert state.trunks.id_of("Device2") is None  # gone with the replaced org


def test_validate_turns_org_problems_into_a_400() -> None:
    state = OrgState(make_org())
    fields = fields_of(state.org)
    fields["trunks"] = [*state.org.trunks, state.org.trunk("Device")]
    with pytest.raises(ApiError) as info:
        state.validate(fields, rename=(("trunks[2]", "body"),))
    assert info.value.status == 400
    assert info.value.details[0].field_name == "body.name"


def test_registry_claims_rename_and_swap() -> None:
    ids = iter(["a", "b", "c"])
    registry = Registry("test", lambda name: next(ids), _clock)
    registry.sync(["One", "Two"])
    assert (registry.id_of("one"), registry.id_of("TWO")) == ("a", "b")
    registry.sync(["Two", "One"], {"Two": "a", "One": "b"})  # swap the names of two entities
    assert (registry.id_of("Two"), registry.id_of("One")) == ("a", "b")
    registry.sync(["Three", "One"], {"Three": "a"})  # rename a, keep b
    assert (registry.id_of("Three"), registry.id_of("One")) == ("a", "b")
    registry.sync(["One", "Four"])  # a dropped, Four new
    assert "a" not in registry and registry.id_of("Four") == "c"
    registry.touch("b")
    assert registry.get("b") is not None and registry.get("b").version == 2  # type: ignore[union-attr]
