"""Caller identity of the INVITE (takeback.cloud.invite): the Site and Extension sources of
``trunk_calling_id_priority`` and *Suppress user name* (GENESYS.md §3.3, §4.2). Pure unit tests."""

from __future__ import annotations

from typing import Any

import pytest

from takeback.cloud import Policies, Trunk
from takeback.cloud.invite import (
    Caller,
    InviteParams,
    LocalSignalling,
    build_invite,
    calling_identity,
    select_calling_identity,
    user_name_suppressed,
)
from takeback.cloud.org import DidRange, Site
from takeback.cloud.routing import Attempt
from takeback.sip import SipUri, parse_name_addr

ANI = "+13175551234"
TRUNK_ID = "+19999990000"
SITE_ID = "+18005550199"
AGENT_DID = "+18005550142"
DIDS = (DidRange(start="+18005550100", end="+18005550199"),)
SITE = Site(name="Daly City", caller_id=SITE_ID, caller_name="Daly City Support")
CUSTOMER = Caller(ANI, "Jane Doe")
AGENT = Caller(ANI, "Jane Doe", extension=AGENT_DID, user_name="Agent Smith")


def trunk(**settings: Any) -> Trunk:
    values: dict[str, Any] = {
        "name": "Device",
        "inbound_sip_termination_identifier": "dev",
        "sip_servers": ["203.0.113.10:5060"],
        "caller_id": TRUNK_ID,
        "calling_name": "Trunk Name",
    }
    values.update(settings)
    return Trunk.model_validate(values)


def ident(t: Trunk, caller: Caller, site: Site | None = SITE, **policy: Any) -> tuple[str, str]:
    return calling_identity(t, caller, site=site, did_ranges=DIDS, policies=Policies(**policy))


# ----- §3.3 / §4.2 trunk_calling_id_priority: Site and Extension -----


def test_site_source_uses_the_site_caller_id_and_name() -> None:
    """GENESYS.md §3.3 trunk_calling_id_priority ``Site`` [DOC RC-PCS, SDK Site.caller_id/caller_name]."""
    t = trunk(prioritized_caller_selection=["Site", "Trunk"])
    assert ident(t, CUSTOMER) == (SITE_ID, "Daly City Support")
    assert select_calling_identity(t, CUSTOMER, SITE).name_source == "Site"


def test_site_source_without_a_site_caller_id_falls_through_to_the_next_source() -> None:
    """§3.3 / §4.2: the first source that yields a number wins; a site without Caller ID yields none."""
    t = trunk(prioritized_caller_selection=["Site", "Trunk"])
    bare = Site(name="Bare", caller_name="Only a name")
    assert ident(t, CUSTOMER, site=bare) == (TRUNK_ID, "Trunk Name")
    assert ident(t, CUSTOMER, site=None) == (TRUNK_ID, "Trunk Name")


def test_extension_source_uses_the_calling_users_number_and_name() -> None:
    """§3.3 ``Extension`` (INFERRED = the user profile of RC-PCS: work number + user name)."""
    t = trunk(prioritized_caller_selection=["Extension", "Source"])
    assert ident(t, AGENT) == (AGENT_DID, "Agent Smith")
    assert select_calling_identity(t, AGENT).name_source == "Extension"


def test_extension_source_is_empty_for_a_transferred_customer() -> None:
    """§3.3 ``Extension`` (INFERRED): the emulated PSTN caller has no user, so the next source is used."""
    t = trunk(prioritized_caller_selection=["Extension", "Site", "Source"])
    assert ident(t, CUSTOMER) == (SITE_ID, "Daly City Support")


def test_prem_sample_order_prefers_the_source_then_trunk_site_extension() -> None:
    """§3.3 PREM sample order ``["Source","Trunk","Site","Extension"]``: each source in turn."""
    t = trunk(prioritized_caller_selection=["Source", "Trunk", "Site", "Extension"])
    assert ident(t, CUSTOMER) == (ANI, "Jane Doe")
    assert ident(t, Caller()) == (TRUNK_ID, "Trunk Name")
    no_trunk_id = trunk(prioritized_caller_selection=["Source", "Trunk", "Site", "Extension"], caller_id="")
    assert ident(no_trunk_id, Caller()) == (SITE_ID, "Daly City Support")
    assert ident(no_trunk_id, Caller(extension=AGENT_DID), site=None) == (AGENT_DID, "")
    assert ident(no_trunk_id, Caller(), site=None) == ("", "")


def test_calling_omit_plus_applies_to_the_site_number() -> None:
    """§3.3 / §4.2 Calling Address Omit + Prefix [DOC BLOG] applies whatever the source."""
    t = trunk(prioritized_caller_selection=["Site"], calling_address_omit_plus=True)
    assert ident(t, CUSTOMER) == (SITE_ID[1:], "Daly City Support")


def test_site_source_reaches_the_from_header() -> None:
    """§4.2 From: the site given in InviteParams (the dialing site) is the ``Site`` source."""
    t = trunk(prioritized_caller_selection=["Site", "Source"])
    params = InviteParams(
        number="+19999990001",
        caller=CUSTOMER,
        conversation_id="c",
        call_id="i",
        from_tag="t",
        contact_token="k",
        site=SITE,
    )
    local = LocalSignalling("198.51.100.20", 5060)
    built = build_invite(t, Attempt(t, t.proxies[0]), params, local, Policies())
    from_ = parse_name_addr(built.request.headers["From"])
    assert isinstance(from_.uri, SipUri)
    assert from_.uri.user == SITE_ID and from_.display == "Daly City Support"


# ----- §3.3 Suppress user name if DID available / if no DID -----


@pytest.mark.parametrize(
    ("if_did", "if_no_did", "caller", "expected_name"),
    [
        (True, False, AGENT, ""),  # the agent's number is an org DID -> suppressed
        (True, False, CUSTOMER, "Jane Doe"),  # the customer's ANI is no org DID -> kept
        (False, True, CUSTOMER, ""),  # no DID -> suppressed
        (False, True, AGENT, "Agent Smith"),
        (False, False, AGENT, "Agent Smith"),
        (True, True, CUSTOMER, ""),
    ],
)
def test_suppress_user_name_flags(if_did: bool, if_no_did: bool, caller: Caller, expected_name: str) -> None:
    """§3.3 trunk_outboundIdentity_suppress_username_if_did_available / _if_no_did [DOC PREM keys];
    "DID available" = the From number is a DID of the org (Policies.did_available=org_did, INFERRED)."""
    t = trunk(
        prioritized_caller_selection=["Extension", "Source"],
        suppress_user_name_if_did_available=if_did,
        suppress_user_name_if_no_did=if_no_did,
    )
    number, name = ident(t, caller)
    assert number == (AGENT_DID if caller is AGENT else ANI)
    assert name == expected_name


def test_suppress_user_name_keeps_configured_names_by_default() -> None:
    """§3.3 INFERRED Policies.suppress_user_name_scope: ``user`` (default) drops only a person's name;
    ``any`` also drops the trunk/site Calling Name."""
    t = trunk(prioritized_caller_selection=["Site"], suppress_user_name_if_did_available=True)
    assert ident(t, CUSTOMER) == (SITE_ID, "Daly City Support")  # a site name, and SITE_ID is a DID
    assert ident(t, CUSTOMER, suppress_user_name_scope="any") == (SITE_ID, "")


def test_did_available_any_number_policy() -> None:
    """§3.3 INFERRED Policies.did_available=any_number: any From number counts as a DID."""
    t = trunk(prioritized_caller_selection=["Source"], suppress_user_name_if_did_available=True)
    assert ident(t, CUSTOMER) == (ANI, "Jane Doe")
    assert ident(t, CUSTOMER, did_available="any_number") == (ANI, "")


def test_suppress_user_name_in_the_legacy_model() -> None:
    """§3.3 INFERRED: the flags also act with the legacy Name Override Method (``Unassigned DID`` takes
    the caller's name, a person's name)."""
    t = trunk(name_override_method="Unassigned DID", suppress_user_name_if_no_did=True)
    assert ident(t, CUSTOMER) == (TRUNK_ID, "")
    always = trunk(suppress_user_name_if_no_did=True)  # Always -> the trunk Calling Name, not a user's
    assert ident(always, CUSTOMER) == (TRUNK_ID, "Trunk Name")


def test_user_name_suppressed_is_false_without_a_name() -> None:
    """§3.3: nothing to suppress when the identity has no display name."""
    t = trunk(prioritized_caller_selection=["Source"], suppress_user_name_if_no_did=True)
    identity = select_calling_identity(t, Caller(ANI, ""))
    assert identity.name_source == ""
    assert not user_name_suppressed(t, identity, DIDS, Policies())


def test_site_caller_id_is_validated_e164() -> None:
    """§3.3 Site source: the site Caller ID is E.164 (like the DIDs), the name at most 40 characters."""
    with pytest.raises(ValueError, match=r"E\.164"):
        Site(name="X", caller_id="18005550199")
    with pytest.raises(ValueError):
        Site(name="X", caller_name="x" * 41)
    assert Site(name="X").caller_id == "" and Site(name="X").caller_name == ""
