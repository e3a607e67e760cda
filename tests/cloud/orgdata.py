"""Small org builders for the cloud tests (plain dicts, as org.yaml would give them)."""

from __future__ import annotations

import copy
from typing import Any

from takeback.cloud import Org, parse_org


def device_trunk(name: str = "Device", **settings: Any) -> dict[str, Any]:
    trunk: dict[str, Any] = {
        "name": name,
        "inbound_sip_termination_identifier": name.lower(),
        "sip_servers": ["127.0.0.1:5080"],
        "take_back_and_transfer": True,
        "uui_passthrough": True,
    }
    trunk.update(settings)
    return trunk


def org_data(**top: Any) -> dict[str, Any]:
    """PSTN trunk + one device trunk, one site with the article's two device plans and two routes."""
    data: dict[str, Any] = {
        "pstn": {"trunk": "PSTN"},
        "trunks": [
            {"name": "PSTN", "inbound_sip_termination_identifier": "pstn", "sip_servers": ["127.0.0.1:5090"]},
            device_trunk(),
        ],
        "sites": [
            {
                "name": "Site",
                "number_plans": [
                    {
                        "name": "E164",
                        "match_type": "e164NumberList",
                        "numbers": "+19999990001",
                        "classification": "E164ToExternalDevice",
                    },
                    {
                        "name": "Short",
                        "match_type": "numberList",
                        "numbers": "9991,9992",
                        "classification": "ShortNumberToExternalDevice",
                    },
                ],
                "outbound_routes": [
                    {
                        "name": "ToDevice",
                        "classifications": ["E164ToExternalDevice", "ShortNumberToExternalDevice"],
                        "external_trunks": ["Device"],
                    },
                    {
                        "name": "PSTN",
                        "classifications": ["National", "International", "Emergency"],
                        "external_trunks": ["PSTN"],
                    },
                ],
            }
        ],
        "did_ranges": [{"start": "+33456456456", "flow": "Back"}],
        "flows": [
            {"name": "Back", "actions": [{"set_participant_data": {"uui": "{Call.UUIData}"}}, "disconnect"]}
        ],
    }
    data.update(copy.deepcopy(top))
    return data


def make_org(**top: Any) -> Org:
    return parse_org(org_data(**top))
