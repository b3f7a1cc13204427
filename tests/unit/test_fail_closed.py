"""Fail closed: when the store (and so the ledger) is gone, nothing is decided and nothing is sent.

The real app on SQLite; the store is closed under it, as if the database died.
/v1/check and the gateway answer 503 with a stable code and Retry-After, and the
upstream receives nothing.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import openai
import pytest

from redline.api import create_app
from redline.gateway.standin import StandIn
from redline.settings import load_settings
from tests.support.http import request_json
from tests.support.server import serving


def _post(url: str, body: dict[str, Any]) -> tuple[int, Any, dict[str, str]]:
    return request_json(url, body)


def test_a_dead_store_fails_closed_on_every_face(tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    upstream = StandIn()
    asyncio.run_coroutine_threadsafe(upstream.start(), loop).result(10)
    settings = load_settings(
        environ={},
        data_dir=tmp_path,
        classifier="keywords",
        require_api_key=False,
        upstreams=[f"standin={upstream.base_url}"],
        checkpoint_interval_s=0,
    )
    app = create_app(settings)
    try:
        with serving(app) as url:
            status, body, _ = _post(f"{url}/v1/check", {"text": "plan the fuel resupply"})
            assert status == 200 and body["verdict"] == "allow"
            services = app.state.services
            # The database goes away under the running server.
            fut = asyncio.run_coroutine_threadsafe(services.store.close(), services_loop(app))
            fut.result(10)

            status, body, headers = _post(f"{url}/v1/check", {"text": "plan the fuel resupply"})
            assert status == 503
            assert body["error"]["code"] in ("ledger_unavailable", "store_unavailable")
            assert int(headers["retry-after"]) >= 1

            before = len(upstream.requests)
            client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
            with pytest.raises(openai.InternalServerError) as err:
                client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hello"}])
            assert err.value.status_code == 503
            assert len(upstream.requests) == before  # nothing reached the model
    finally:
        loop.call_soon_threadsafe(loop.stop)


def services_loop(app: Any) -> asyncio.AbstractEventLoop:
    """The event loop the server (and so the store) runs on."""
    loop = app.state.loop
    assert isinstance(loop, asyncio.AbstractEventLoop)
    return loop
