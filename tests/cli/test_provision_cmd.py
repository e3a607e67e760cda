"""``takeback provision plan|apply`` against the emulator's Platform API: output, exit codes, secrets.

The command runs in-process through a parser that mirrors ``takeback.cli.main`` (the SDK takes seconds to
import, once); one test runs it as a subprocess to see that a failure is one line and no traceback.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import PureCloudPlatformClientV2 as pc
import pytest

from takeback.cli import provision_cmd
from tests.provision.support import (
    CLIENT_ID,
    CLIENT_SECRET,
    DEVICE,
    DIGEST_PASSWORD,
    HEADER_TOKEN,
    ThreadedEmulator,
    article_org_data,
    bare_org,
    write_org,
)

SECRETS = (DIGEST_PASSWORD, HEADER_TOKEN, CLIENT_SECRET)
_LAUNCHER = """
import argparse, sys
from takeback.cli import provision_cmd
parser = argparse.ArgumentParser(prog="takeback")
commands = parser.add_subparsers(dest="command", required=True)
provision_cmd.register(commands)
args = parser.parse_args(sys.argv[1:])
sys.exit(args.handler(args))
"""


def takeback(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="takeback")
    provision_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code = args.handler(args)
    out, err = capsys.readouterr()
    for secret in SECRETS:
        assert secret not in out and secret not in err
    return code, out, err


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadedEmulator]:
    monkeypatch.setenv("GENESYS_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("GENESYS_CLIENT_SECRET", CLIENT_SECRET)
    with ThreadedEmulator(bare_org()) as running:
        yield running


@pytest.fixture
def org_file(tmp_path: Path) -> Path:
    return write_org(tmp_path / "org.yaml", article_org_data())


def test_plan_apply_apply_again(
    capsys: pytest.CaptureFixture[str], emulator: ThreadedEmulator, org_file: Path
) -> None:
    code, out, err = takeback(capsys, "provision", "plan", "-c", str(org_file), "--api", emulator.url)
    assert code == 0 and err == ""
    assert f"+ trunk '{DEVICE}': create" in out
    assert "+ number plan 'New Number Plan with E164' (site 'Daly City'): create" in out
    assert 'trunk_sip_authentication_credentials_password (digest_password): "********"' in out
    assert '{"CUSTOM-DEVICE-TOKEN": "********"}' in out
    assert out.rstrip().endswith("Plan: 4 to create, 0 to update, 0 unchanged.")
    assert emulator.state.version == 0  # plan writes nothing

    code, out, _ = takeback(capsys, "provision", "apply", "-c", str(org_file), "--api", emulator.url)
    assert code == 0
    assert f"  created trunk '{DEVICE}'" in out
    assert "  replaced the number plans of site 'Daly City' (10 plans)" in out
    assert out.rstrip().endswith("Apply complete: 4 created, 0 updated, 0 unchanged.")

    code, out, _ = takeback(capsys, "provision", "apply", "-c", str(org_file), "--api", emulator.url)
    assert code == 0 and "created" not in out and "replaced" not in out
    assert f"= trunk '{DEVICE}': unchanged" in out
    assert out.rstrip().endswith("No changes: the org already matches org.yaml.")


def test_plan_shows_a_change_made_through_the_api(
    capsys: pytest.CaptureFixture[str], emulator: ThreadedEmulator, org_file: Path
) -> None:
    assert takeback(capsys, "provision", "apply", "-c", str(org_file), "--api", emulator.url)[0] == 0
    api_client = pc.api_client.ApiClient(emulator.url).get_client_credentials_token(CLIENT_ID, CLIENT_SECRET)
    api = pc.TelephonyProvidersEdgeApi(api_client)
    site_id = emulator.state.sites.meta_of("Daly City").id
    route = next(
        r
        for r in api.get_telephony_providers_edges_site_outboundroutes(site_id).entities
        if r.name == "New Outbound Route to External Device"
    )
    route.enabled = False
    route.distribution = "RANDOM"
    api.put_telephony_providers_edges_site_outboundroute(site_id, route.id, route)

    code, out, _ = takeback(capsys, "provision", "plan", "-c", str(org_file), "--api", emulator.url)
    assert code == 0
    assert "~ outbound route 'New Outbound Route to External Device' (site 'Daly City'): update" in out
    assert "    enabled: false -> true" in out and '    distribution: "RANDOM" -> "SEQUENTIAL"' in out
    assert "Plan: 0 to create, 1 to update, 3 unchanged." in out


def test_traps_are_warnings_and_apply_goes_on(
    capsys: pytest.CaptureFixture[str], emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    """Article step 4 in org.yaml (lint) and in the org (the live PSTN trunk): warned, not blocking."""
    api_client = pc.api_client.ApiClient(emulator.url).get_client_credentials_token(CLIENT_ID, CLIENT_SECRET)
    api = pc.TelephonyProvidersEdgeApi(api_client)
    pstn_id = emulator.state.trunks.meta_of("PSTNCarrierTrunk").id
    pstn = api.get_telephony_providers_edges_trunkbasesetting(pstn_id)
    pstn.properties["trunk_rlt_enabled"]["value"]["instance"] = True
    api.put_telephony_providers_edges_trunkbasesetting(pstn_id, pstn)
    data = article_org_data()
    data["trunks"][0]["release_link_transfer"] = True
    org_file = write_org(tmp_path / "org.yaml", data)
    code, out, _ = takeback(capsys, "provision", "apply", "-c", str(org_file), "--api", emulator.url)
    assert code == 0 and "Apply complete: 4 created" in out
    assert "warning: Release Link Transfer is ON on the PSTN trunk 'PSTNCarrierTrunk' in the org" in out
    assert "lint error: rlt-on-byoc-pstn [trunks[0].release_link_transfer]" in out


def test_json_report(capsys: pytest.CaptureFixture[str], emulator: ThreadedEmulator, org_file: Path) -> None:
    code, out, _ = takeback(
        capsys, "provision", "apply", "-c", str(org_file), "--api", emulator.url, "--json"
    )
    assert code == 0
    report = json.loads(out)
    assert report["ok"] and report["action"] == "apply" and len(report["applied"]) == 3
    assert report["summary"] == {"create": 4, "update": 0, "unchanged": 0}
    trunk = report["changes"][0]
    password = next(f for f in trunk["fields"] if f["name"].endswith("_password"))
    assert password == {
        "name": "trunk_sip_authentication_credentials_password",
        "before": None,
        "after": "********",
        "secret": True,
    }


def test_errors_in_the_plan_change_nothing(
    capsys: pytest.CaptureFixture[str], emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    data = article_org_data()
    data["sites"][0]["outbound_routes"][1]["classifications"] = ["Emergency", "National"]
    route = data["sites"][0]["outbound_routes"][0]
    route["classifications"].append("International")  # held by the org's PSTN route
    data["sites"][0]["number_plans"].append(
        {"name": "Intl", "match_type": "interCountryCode", "classification": "International"}
    )
    org_file = write_org(tmp_path / "org.yaml", data)
    code, _, err = takeback(capsys, "provision", "apply", "-c", str(org_file), "--api", emulator.url)
    assert code == 1
    assert err.splitlines() == [
        "takeback provision: error: classification 'International' is held by outbound route 'PSTN' of site "
        "'Daly City' (one route per classification, GENESYS.md §4.1): remove it there, or pass "
        "--take-classifications to move it to 'New Outbound Route to External Device'",
        "takeback provision: nothing was changed",
    ]
    assert emulator.state.version == 0


def test_refused_credentials_are_exit_1(
    capsys: pytest.CaptureFixture[str],
    emulator: ThreadedEmulator,
    org_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GENESYS_CLIENT_SECRET", "not-the-secret")
    code, out, err = takeback(capsys, "provision", "plan", "-c", str(org_file), "--api", emulator.url)
    assert code == 1 and out == ""
    assert err.startswith("takeback provision: log in (POST /oauth/token): 401") and err.count("\n") == 1
    assert "not-the-secret" not in err


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["--region", "mars-1"], {}, "unknown region 'mars-1'"),
        (["--region", "eu-west-1"], {}, "set GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET"),
        (["--api", "ftp://x"], {}, "--api must be a URL"),
    ],
)
def test_usage_errors_are_exit_2(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    org_file: Path,
    argv: list[str],
    env: dict[str, str],
    expected: str,
) -> None:
    monkeypatch.delenv("GENESYS_CLIENT_ID", raising=False)
    monkeypatch.delenv("GENESYS_CLIENT_SECRET", raising=False)
    code, out, err = takeback(capsys, "provision", "plan", "-c", str(org_file), *argv)
    assert code == 2 and out == "" and expected in err and err.count("\n") == 1


def test_invalid_org_yaml_is_exit_2_one_line_per_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = article_org_data()
    data["trunks"][1]["protocol"] = "sctp"
    data["trunks"][1]["caller_id"] = "not a number"
    bad = write_org(tmp_path / "bad.yaml", data)
    code, out, err = takeback(capsys, "provision", "plan", "-c", str(bad), "--api", "http://127.0.0.1:9")
    lines = err.splitlines()
    assert code == 2 and out == "" and len(lines) == 2
    assert all(line.startswith(f"takeback provision: {bad}: trunks[1].") for line in lines)
    data = article_org_data()
    data["trunks"][1]["extra_properties"] = {"trunk_max_dial_timeout": "1m"}
    tf = write_org(tmp_path / "tf.yaml", data)
    code, _, err = takeback(capsys, "provision", "plan", "-c", str(tf), "--api", "http://127.0.0.1:9")
    assert code == 2 and "the Terraform example spelling; the API key is trunk_maxDialTimeout" in err
    missing = tmp_path / "missing.yaml"
    code, _, err = takeback(capsys, "provision", "plan", "-c", str(missing), "--api", "http://127.0.0.1:9")
    assert code == 2 and "cannot read" in err


def test_emulator_section_is_accepted_and_not_provisioned(
    capsys: pytest.CaptureFixture[str], emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    """org.yaml's ``emulator:`` section is for ``takeback cloud`` only: provision plans the same changes."""
    data = article_org_data()
    data["emulator"] = {"sip": "udp:127.0.0.1:5070", "api": "127.0.0.1:8070"}
    org_file = write_org(tmp_path / "org.yaml", data)
    code, out, err = takeback(capsys, "provision", "plan", "-c", str(org_file), "--api", emulator.url)
    assert code == 0 and err == ""
    assert out.rstrip().endswith("Plan: 4 to create, 0 to update, 0 unchanged.")
    assert "127.0.0.1:8070" not in out


def test_unreachable_api_in_a_subprocess_is_one_line(org_file: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _LAUNCHER,
            "provision",
            "apply",
            "-c",
            str(org_file),
            "--api",
            f"127.0.0.1:{port}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 1 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("takeback provision: log in (POST /oauth/token): cannot reach the Platform API")
    assert "Traceback" not in done.stderr
