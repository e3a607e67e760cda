"""Emulator policies: every Genesys behaviour the sources do not pin down, as a named, configurable choice.

DESIGN.md §4: behaviour tagged INFERRED/UNKNOWN in GENESYS.md is never hard-coded; it is a field here,
defaulting to what GENESYS.md suggests (or the RFC default it names). Each field's description cites the
section. Documented ([DOC]) behaviour is *not* a policy; it is implemented as documented.

In org.yaml::

    policies:
      acl_refusal: "403"
      bye_policy: {wait_for_device_bye_s: 2}
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .config import StrictModel

__all__ = ["ByePolicy", "OptionsPing", "Policies"]


class ByePolicy(StrictModel):
    """Who ends the device leg after a successful take-back (GENESYS.md §6 step 4, INFERRED).

    RFC 5589 §6.1 has the transferor (the device) send BYE; Genesys may also do it. Default: wait
    ``wait_for_device_bye_s`` for the device's BYE, then send BYE ourselves when ``genesys_sends_bye``.
    """

    wait_for_device_bye_s: float = Field(
        default=2.0, ge=0, le=300, description="§6 step 4 INFERRED: grace period"
    )
    genesys_sends_bye: bool = Field(
        default=True, description="§6 step 4 INFERRED: BYE after the grace period"
    )


class OptionsPing(StrictModel):
    """OPTIONS health pings to the SIP servers of a trunk (GENESYS.md §10 (7), §12 item 17).

    Whether BYOC Cloud pings is UNKNOWN; off by default. jambonz pings every 60 s and marks a peer down
    after a few misses, which is the shape used here (INFERRED).
    """

    enabled: bool = Field(default=False, description="§10 (7) UNKNOWN: off by default")
    interval_s: float = Field(default=60.0, gt=0, le=3600, description="§12.17: jambonz uses 60 s")
    misses_before_down: int = Field(
        default=3, ge=1, le=100, description="§10 (7) INFERRED: timeouts or 5xx in a row"
    )


class Policies(StrictModel):
    """All INFERRED/UNKNOWN knobs of the emulator (GENESYS.md sections cited per field)."""

    # --- access control (§4.3, §11 item 5) ---
    acl_refusal: Literal["drop", "403"] = Field(
        default="drop",
        description="§4.3 UNKNOWN response to a source outside the allow list: drop silently or 403",
    )
    acl_source: Literal["socket", "via"] = Field(
        default="socket",
        description="§4.3 'Use Source Address' UNKNOWN for BYOC; §12.13: key the ACL on the socket source",
    )
    # --- number plans and routes (§4.1, §8, §9.3, §9.4) ---
    number_plan_passes: int = Field(
        default=3,
        ge=1,
        le=10,
        description="§4.1 (2) 'numbers can be run through number plans and normalized multiple times': "
        "re-run from the top with the normalized number until it is stable, at most this many passes",
    )
    default_number_plans: bool = Field(
        default=True,
        description="§8.1 default plans appended to a site's list when it does not name them (§11 item 2)",
    )
    number_plan_priority_base: Literal[0, 1] = Field(
        default=0, description="§9.3 UNKNOWN: priority of the top plan"
    )
    classification_uniqueness: bool = Field(
        default=True,
        description="§4.1 (4) INFERRED: a classification belongs to at most one outbound route per site",
    )
    empty_distribution: Literal["SEQUENTIAL", "reject"] = Field(
        default="SEQUENTIAL", description="§9.4 UNKNOWN: what an outbound route with distribution '' means"
    )
    failover_on_timeout: bool = Field(
        default=True,
        description="§4.1 (5) INFERRED: no answer / transport error from a proxy -> try the next one",
    )
    # --- the INVITE to the device (§4.2, §5.1, §7) ---
    invite_pai: bool = Field(
        default=False, description="§4.2 UNKNOWN: mirror the From number into P-Asserted-Identity"
    )
    uui_purpose_content_params: bool = Field(
        default=False, description="§5.1 UNKNOWN: add ';purpose=isdn-uui;content=isdn-uui' to outbound UUI"
    )
    digest_proxy_auth: bool = Field(
        default=True, description="§4.3 INFERRED: answer 407 Proxy-Authenticate like 401 WWW-Authenticate"
    )
    strict_contact_params: bool = Field(
        default=True,
        description="§4.2 RC-DCV: in-dialog requests must echo the opaque Contact parameter; strict = reject",
    )
    contact_param_violation_status: Literal[481, 404] = Field(
        default=481,
        description="§11 item 4: status for an in-dialog request that dropped the Contact parameter",
    )
    require_srtp_on_tls: bool = Field(
        default=True, description="§7 INFERRED: a TLS trunk terminates media as SRTP (SDES)"
    )
    idle_rtp_timeout_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="§3.3 INFERRED: silence before 'Disconnect on idle RTP' sends BYE",
    )
    options_ping: OptionsPing = OptionsPing()
    # --- take-back REFER (§6, §12.1) ---
    takeback_disabled_response: Literal[403, 405, 501] = Field(
        default=403, description="§6 INFERRED: REFER on a trunk with Take Back and Transfer off"
    )
    refer_unroutable: Literal["notify-404", "immediate-404", "480"] = Field(
        default="notify-404",
        description="§6 INFERRED: Refer-To number in no routed DID range: 202 then NOTIFY 404, "
        "or a final 404/480",
    )
    refer_malformed_status: int = Field(
        default=400, ge=400, le=499, description="§6 INFERRED: malformed Refer-To"
    )
    refer_subscription_expires_s: int = Field(
        default=60, ge=1, le=3600, description="§10 (5): Subscription-State expires"
    )
    refer_notify_trying: bool = Field(
        default=True, description="§6 step 2 INFERRED: NOTIFY 'SIP/2.0 100 Trying' first"
    )
    refer_to_spellings: Literal["all", "rfc-only"] = Field(
        default="all",
        description="§5.2/§12.1: accept the three documented Refer-To spellings (non-RFC ones flagged)",
    )
    bye_policy: ByePolicy = ByePolicy()
    # --- Platform API (§3.1, §3.2, §9.2, §9.5, §11 item 9) ---
    digest_password_in_get: Literal["mask", "echo"] = Field(
        default="mask", description="§9.2 UNKNOWN: whether GET returns the digest password"
    )
    echo_unknown_properties: bool = Field(
        default=True, description="§3.2 INFERRED: the API stores unknown keys verbatim"
    )
    version_mismatch_status: Literal[409, 400] = Field(default=409, description="§3.1: stale version on PUT")
    oauth_expires_in_s: int = Field(
        default=86399, ge=1, description="§11 item 9 INFERRED: access token lifetime"
    )
    analytics_max_interval_days: int = Field(
        default=31, ge=1, le=366, description="§9.5 INFERRED: max query interval"
    )
    # --- release link transfer: Genesys REFERs the carrier (§3.3, §6 last item, RC-T2N) ---
    rlt_refer_failure: Literal["bridge", "fail"] = Field(
        default="bridge",
        description="§6 INFERRED: REFER refused (4xx/5xx), failed sipfrag or no terminal NOTIFY: do the "
        "bridged transfer (as RC-T2N does when RLT is unsupported) or take the flow's failure path",
    )
    rlt_refer_to_number: Literal["normalized", "dialed"] = Field(
        default="normalized",
        description="§4.1/§4.2 INFERRED for RLT: the Refer-To user is the number after the inbound site's "
        "number plans and the trunk's called omit-+ (as an INVITE on that trunk), or as dialed",
    )
    rlt_refer_to_host: Literal["sip-server", "carrier-contact"] = Field(
        default="sip-server",
        description="§6 UNKNOWN: Refer-To host, the trunk's first SIP server or the carrier's Contact",
    )
    rlt_uui_in_refer_to: bool = Field(
        default=False,
        description="§5.1/§6 UNKNOWN: carry Set UUI Data in the RLT Refer-To (?User-to-User=…)",
    )
    rlt_notify_timeout_s: float = Field(
        default=32.0,
        gt=0,
        le=300,
        description="§6/§12 item 6 INFERRED: wait this long for the carrier's terminal NOTIFY (RFC 3515)",
    )
    rlt_wait_for_carrier_bye_s: float = Field(
        default=0.0,
        ge=0,
        le=300,
        description="§6 INFERRED: after NOTIFY 2xx Genesys (transferor, RFC 5589 §6.1) sends BYE; wait "
        "this long for the carrier's BYE first",
    )
    # --- inbound routing (§3.3 DNIS Replacement Routing, RC-SIPRT) ---
    dnis_replacement_number_source: Literal["to", "p-called-party-id"] = Field(
        default="to",
        description="§3.3 INFERRED: with DNIS Replacement Routing the Request-URI user is the termination "
        "identifier; the dialed number is read from the To user or P-Called-Party-ID (RFC 3455)",
    )
    # --- take-back Refer-To routing (§6) ---
    refer_number_match: Literal["exact", "number_plans"] = Field(
        default="exact",
        description="§6 'route by user part only': the Refer-To user must equal a DID, or is first "
        "classified/normalized by the device trunk's inbound site number plans (§8.1)",
    )
    # --- outbound identity and Max Call Rate (§3.3, §4.2) ---
    did_available: Literal["org_did", "any_number"] = Field(
        default="org_did",
        description="§3.3 INFERRED: 'DID available' for trunk_outboundIdentity_suppress_username_*: the "
        "From number is a DID of the org (did_ranges), or any From number at all",
    )
    suppress_user_name_scope: Literal["user", "any"] = Field(
        default="user",
        description="§3.3 INFERRED: the display names 'suppress user name' drops: a person's name (Source "
        "caller, Extension user) or any name, the trunk/site Calling Name included",
    )
    max_call_rate_window: Literal["sliding", "token_bucket"] = Field(
        default="sliding",
        description="§3.3 INFERRED: trunk_maxCallRate 'N/Ts' = at most N attempts in any T seconds "
        "(sliding), or a bucket of N refilled at N/T per second",
    )
    max_call_rate_exceeded: Literal["next_trunk", "fail"] = Field(
        default="next_trunk",
        description="§3.3/§4.1 (5) INFERRED: an attempt over the trunk's Max Call Rate is not sent; try the "
        "route's next trunk, or fail the transfer",
    )
