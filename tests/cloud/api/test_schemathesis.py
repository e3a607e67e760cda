"""Property-based conformance of the server to its own OpenAPI document: the schemathesis CLI, for real.

The emulator runs in a background thread with its own event loop; ``schemathesis run`` (a subprocess)
fetches ``GET /api/v2/openapi.json`` and sends every operation schema-valid and schema-invalid requests
(examples, coverage, fuzzing and stateful phases). All its checks apply but ``positive_data_acceptance``
(a schema-valid body may still break a business rule, e.g. a classification another route holds, and
get its documented 400): no 5xx, documented statuses, content types and headers, bodies matching the
response schemas, 401 without the token, 4xx for invalid input, correct ``Allow`` on 405.

Path ids are pinned to real entities (the site, the PSTN trunk, a recorded conversation) so the 200
paths run too. Bounded: 10 examples per operation, a fixed seed, one worker, a 240 s timeout (the run
takes about 15 s here).

(Not schemathesis' pytest plugin: its lazy ``from_fixture`` loader does not run on pytest 9.)
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from takeback.cloud import load_builtin_org
from takeback.cloud.api import OPENAPI_PATH, ApiServer, ApiSettings, OrgState
from takeback.cloud.conversations import MemoryConversationStore

from .harness import CLIENT_ID, CLIENT_SECRET

CONVERSATION_ID = "3f1c6a52-2f4e-4d1b-9a65-6c1c0a7e9b10"


class BackgroundEmulator:
    """An ApiServer on 127.0.0.1:0 in a thread of its own (bounded start and stop)."""

    def __init__(self) -> None:
        self.state = OrgState(load_builtin_org())
        self.store = MemoryConversationStore()
        self._record_call()
        self.url = ""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="emulator-api", daemon=True)

    def _record_call(self) -> None:
        """Inside the interval of the document's example query, with its ``protocolCallId``."""
        start = datetime(2026, 1, 5, 10, tzinfo=UTC)
        cid = self.store.start_conversation(conversation_id=CONVERSATION_ID, at=start).conversation_id
        participant = self.store.add_participant(cid, "external", name="+19999990001")
        self.store.add_session(
            cid,
            participant,
            direction="outbound",
            protocol_call_id="call-1",
            segment_type="interact",
            at=start,
        )

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        settings = ApiSettings(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        async with ApiServer(self.state, self.store, port=0, settings=settings) as server:
            self.url = server.base_url
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> BackgroundEmulator:
        self._thread.start()
        assert self._ready.wait(timeout=10), "the API server did not start"
        return self

    def __exit__(self, *_: Any) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)
        assert not self._thread.is_alive()


@pytest.fixture
def background() -> Iterator[BackgroundEmulator]:
    with BackgroundEmulator() as emulator:
        yield emulator


def _token(url: str) -> str:
    reply = requests.post(
        f"{url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=10,
    )
    reply.raise_for_status()
    return str(reply.json()["access_token"])


@pytest.mark.slow
def test_the_api_conforms_to_its_openapi_document(background: BackgroundEmulator, tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    site_id = background.state.sites.meta_of("Daly City").id
    trunk_id = background.state.trunks.meta_of("PSTNCarrierTrunk").id
    config.write_text(
        f'[parameters]\nsiteId = "{site_id}"\ntrunkBaseSettingsId = "{trunk_id}"\n'
        f'conversationId = "{CONVERSATION_ID}"\n',
        encoding="utf-8",
    )
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{background.url}{OPENAPI_PATH}",
        "--header",
        f"Authorization: Bearer {_token(background.url)}",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        "10",
        "--seed",
        "1",
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "10",
        "--no-color",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=tmp_path, check=False)
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    assert "24/24" in run.stdout  # every documented operation was tested
