"""Where and who: the region table (the SDK's PureCloudRegionHosts), --api URLs, credentials, log-in failures.

A real org cannot be reached from here (no network), so the region -> host mapping is checked against the
SDK's own table and GENESYS.md §2.1, and log-in is exercised against the emulator.
"""

from __future__ import annotations

import socket

import pytest
from PureCloudPlatformClientV2 import PureCloudRegionHosts

from takeback.provision import (
    ApiFailure,
    Credentials,
    ProvisionUsageError,
    connect,
    region_hosts,
    resolve_host,
)

from .support import CLIENT_ID, CLIENT_SECRET, ThreadedEmulator, bare_org

# GENESYS.md §2.1 table: AWS region -> API host [DOC SDK].
DOCUMENTED = {
    "us-east-1": "https://api.mypurecloud.com",
    "us-west-2": "https://api.usw2.pure.cloud",
    "ca-central-1": "https://api.cac1.pure.cloud",
    "sa-east-1": "https://api.sae1.pure.cloud",
    "eu-west-1": "https://api.mypurecloud.ie",
    "eu-central-1": "https://api.mypurecloud.de",
    "eu-west-2": "https://api.euw2.pure.cloud",
    "eu-central-2": "https://api.euc2.pure.cloud",
    "ap-northeast-1": "https://api.mypurecloud.jp",
    "ap-northeast-2": "https://api.apne2.pure.cloud",
    "ap-northeast-3": "https://api.apne3.pure.cloud",
    "ap-southeast-2": "https://api.mypurecloud.com.au",
    "ap-south-1": "https://api.aps1.pure.cloud",
    "ap-southeast-1": "https://api.apse1.pure.cloud",
    "me-central-1": "https://api.mec1.pure.cloud",
    "mx-central-1": "https://api.mxc1.pure.cloud",
    "us-east-2": "https://api.use2.us-gov-pure.cloud",
    "eusc-de-east-1": "https://api.edee1.eusc-pure.cloud",
}


def test_region_table_is_the_sdk_enum_with_aws_names() -> None:
    table = region_hosts()
    assert table == {m.name.replace("_", "-"): m.get_api_host() for m in PureCloudRegionHosts}
    assert table == DOCUMENTED


@pytest.mark.parametrize("region", sorted(DOCUMENTED))
def test_each_region_resolves_to_its_api_host(region: str) -> None:
    assert resolve_host(region=region, api=None) == (DOCUMENTED[region], False)


@pytest.mark.parametrize("spelling", ["eu_west_1", "EU-WEST-1", " eu-west-1 "])
def test_region_spellings(spelling: str) -> None:
    assert resolve_host(region=spelling, api=None) == ("https://api.mypurecloud.ie", False)


def test_default_region_is_us_east_1() -> None:
    assert resolve_host(region=None, api=None) == ("https://api.mypurecloud.com", False)


def test_unknown_region_is_a_usage_error_listing_the_regions() -> None:
    with pytest.raises(ProvisionUsageError, match=r"unknown region 'mars-1'.*us-east-1"):
        resolve_host(region="mars-1", api=None)


def test_api_url_wins_over_the_region() -> None:
    assert resolve_host(region="eu-west-1", api="http://127.0.0.1:8070/") == ("http://127.0.0.1:8070", True)
    assert resolve_host(region=None, api="127.0.0.1:8070") == ("http://127.0.0.1:8070", True)
    with pytest.raises(ProvisionUsageError, match="--api must be a URL"):
        resolve_host(region=None, api="ftp://x/y")


def test_credentials_from_the_environment() -> None:
    env = {"GENESYS_CLIENT_ID": "id", "GENESYS_CLIENT_SECRET": "secret"}
    assert Credentials.from_env(env, emulator=False) == Credentials("id", "secret")
    assert "hush-hush" not in repr(Credentials("id", "hush-hush"))
    assert Credentials.from_env({}, emulator=True) == Credentials("takeback", "takeback")
    with pytest.raises(ProvisionUsageError, match="GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET"):
        Credentials.from_env({}, emulator=False)
    with pytest.raises(ProvisionUsageError, match="set GENESYS_CLIENT_SECRET in"):
        Credentials.from_env({"GENESYS_CLIENT_ID": "id"}, emulator=True)  # half a pair is a mistake


def test_login_through_the_sdk_and_a_refused_secret() -> None:
    with ThreadedEmulator(bare_org()) as emulator:
        client = connect(emulator.url, Credentials(CLIENT_ID, CLIENT_SECRET))
        assert [site["name"] for site in client.list_sites()] == ["Daly City"]
        with pytest.raises(ApiFailure) as info:
            connect(emulator.url, Credentials(CLIENT_ID, "wrong-secret"))
    assert info.value.status == 401
    assert str(info.value).startswith("log in (POST /oauth/token): 401")
    assert "\n" not in str(info.value) and "wrong-secret" not in str(info.value)


def test_unreachable_api_is_one_line() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ApiFailure) as info:
        connect(f"http://127.0.0.1:{port}", Credentials("a", "b"))
    assert "cannot reach the Platform API" in str(info.value) and "\n" not in str(info.value)
