"""Plan text and the secret masks (by key, and by value for anything else that gets printed)."""

from __future__ import annotations

from takeback.cloud import parse_org
from takeback.provision import Plan, Redactor, render_plan, summary
from takeback.provision.changes import Change, FieldChange, masked
from takeback.provision.render import org_secrets

from .support import DIGEST_PASSWORD, HEADER_TOKEN, article_org_data


def test_masked_keeps_shape_and_emptiness() -> None:
    assert masked("s3cret") == "********" and masked("") == "" and masked(None) is None
    assert masked({"CUSTOM-DEVICE-TOKEN": "1234567"}) == {"CUSTOM-DEVICE-TOKEN": "********"}


def test_redactor_replaces_every_known_secret() -> None:
    redact = Redactor(org_secrets(parse_org(article_org_data())))
    redact.add("client-secret-value", "ab")  # too short to redact safely: ignored
    text = f"400: password {DIGEST_PASSWORD} token {HEADER_TOKEN} via client-secret-value ab"
    assert redact(text) == "400: password ******** token ******** via ******** ab"


def test_render_plan_and_summary() -> None:
    plan = Plan(host="http://x")
    assert summary(plan, applied=True) == "No changes: the org already matches org.yaml."
    plan.changes = [
        Change(
            "trunk",
            "Device",
            "update",
            fields=(
                FieldChange("trunk_sip_authentication_credentials_password", "********", "new-pass", True),
                FieldChange("trunk_transport_serverProxyList", ["a:1"], ["b:2"]),
            ),
            notes=("a note",),
        ),
        Change("number-plan", "E164", "create", "Daly City", (FieldChange("position", None, 1),)),
        Change("outbound-route", "Route", "unchanged", "Daly City"),
    ]
    plan.warnings = ["careful"]
    assert render_plan(plan) == [
        "~ trunk 'Device': update",
        '    trunk_sip_authentication_credentials_password (digest_password): "********" -> "********"',
        '    trunk_transport_serverProxyList (sip_servers): ["a:1"] -> ["b:2"]',
        "    (a note)",
        "+ number plan 'E164' (site 'Daly City'): create",
        "    position: 1",
        "= outbound route 'Route' (site 'Daly City'): unchanged",
        "warning: careful",
    ]
    assert summary(plan, applied=False) == "Plan: 1 to create, 1 to update, 1 unchanged."
    assert summary(plan, applied=True) == "Apply complete: 1 created, 1 updated, 1 unchanged."
    assert "new-pass" not in str(plan.to_json())
