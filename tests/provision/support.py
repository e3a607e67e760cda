"""The emulator's Platform API in a background thread, for the synchronous SDK and CLI code under test.

Why a thread (the REST tests in tests/cloud/api run the server in the test's own loop): provisioning and
the CLI are synchronous (the SDK is urllib3), so here the test thread plays the user and the server owns a
loop in its own thread. Anything that touches the emulator's state or conversation store from the test
goes through :meth:`ThreadedEmulator.run`, on the server's loop, as the emulator requires.
"""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import yaml

from takeback.cloud import Org, parse_org
from takeback.cloud.api import ApiServer, ApiSettings, OrgState
from takeback.cloud.config import read_yaml
from takeback.cloud.conversations import FlowInfo, MemoryConversationStore
from takeback.cloud.org import builtin_org_text

T = TypeVar("T")
CLIENT_ID, CLIENT_SECRET = "provision-test-client", "provision-test-secret-value"
DEVICE = "MyBYOCCloudTrunkForTransferToExternalDevice"
DIGEST_PASSWORD = "s3cret-Digest-pw"
HEADER_TOKEN = "tok-98765431"

# The org before provisioning: the PSTN side only, with two plans of its own above the defaults.
BARE_ORG = """
name: bare org
pstn: {trunk: PSTNCarrierTrunk}
trunks:
  - name: PSTNCarrierTrunk
    inbound_site: Daly City
    inbound_sip_termination_identifier: mypstncarriertrunk
    sip_servers: [127.0.0.1:5090]
sites:
  - name: Daly City
    number_plans:
      - name: Existing Plan A
        match_type: numberList
        numbers: "5551"
        classification: ExistingA
      - name: Existing Plan B
        match_type: regex
        match: '^7(\\d{3})$'
        normalized_format: '+1555000$1'
        classification: ExistingB
    outbound_routes:
      - name: PSTN
        classifications: [Emergency, National, International]
        external_trunks: [PSTNCarrierTrunk]
"""


def bare_org() -> Org:
    return parse_org(read_yaml(BARE_ORG))


def article_org_data() -> dict[str, Any]:
    """The built-in (article) org, with Digest on and a token header: secrets the output must not show."""
    data = copy.deepcopy(read_yaml(builtin_org_text()))
    device = next(trunk for trunk in data["trunks"] if trunk["name"] == DEVICE)
    device.update(
        digest_authentication=True,
        digest_realm="device.example",
        digest_user_name="genesys",
        digest_password=DIGEST_PASSWORD,
        custom_sip_headers={"CUSTOM-DEVICE-TOKEN": HEADER_TOKEN},
    )
    return data


def write_org(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


class ThreadedEmulator:
    """``with ThreadedEmulator(org) as emulator: emulator.url`` - REST on 127.0.0.1, ephemeral port."""

    def __init__(self, org: Org, *, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET) -> None:
        self.state = OrgState(org)
        self.store = MemoryConversationStore()
        settings = ApiSettings(client_id=client_id, client_secret=client_secret)
        self.server = ApiServer(self.state, self.store, host="127.0.0.1", port=0, settings=settings)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="emulator-api", daemon=True)

    @property
    def url(self) -> str:
        return self.server.base_url

    def run(self, function: Callable[[], T]) -> T:
        """Call ``function`` on the server's loop (the emulator's state is single-threaded)."""

        async def call() -> T:
            return function()

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(10)

    def __enter__(self) -> ThreadedEmulator:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self._loop).result(10)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()

    def record_call(self, start: datetime, *, pstn_call_id: str, device_call_id: str) -> str:
        """The GENESYS.md §9.5 conversation (customer, IVR, external leg to the device); its id."""

        def record() -> str:
            store = self.store
            cid = store.start_conversation(at=start, division_ids=[self.state.division_id]).conversation_id
            customer = store.add_participant(cid, "customer", name="+13175551234")
            customer_leg = store.add_session(
                cid,
                customer,
                direction="inbound",
                ani="+13175551234",
                dnis="+18005550100",
                protocol_call_id=pstn_call_id,
                segment_type="interact",
                at=start,
            )
            ivr = store.add_participant(cid, "ivr", name="Main IVR")
            store.add_session(
                cid,
                ivr,
                direction="inbound",
                peer_id=customer_leg,
                segment_type="ivr",
                at=start,
                flow=FlowInfo("Main IVR", transfer_type="External", transfer_target_address="9991"),
            )
            external = store.add_participant(cid, "external", name="+19999990001")
            store.add_session(
                cid,
                external,
                direction="outbound",
                ani="+13175551234",
                dnis="+19999990001",
                protocol_call_id=device_call_id,
                peer_id=customer_leg,
                segment_type="interact",
                at=start,
            )
            return cid

        return self.run(record)
