"""Calling upstream providers over the OpenAI chat-completions wire, with aiohttp.

One pooled ``ClientSession`` per upstream (keep-alive, bounded connections),
created lazily on the running loop. A request is sent exactly once: redline
never retries, because a retried completion could repeat a side effect (a tool
call the client then executes twice). Transport failures become
``UpstreamError`` (502) and timeouts ``UpstreamTimeoutError`` (504).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from ..errors import UpstreamError, UpstreamTimeoutError
from .config import UpstreamConfig


@dataclass(slots=True)
class UpstreamReply:
    """A non-streamed reply: the status, the decoded JSON (or None) and the raw body."""

    status: int
    data: Any
    raw: bytes
    seconds: float


class Upstream:
    """One upstream provider. Safe to share between concurrent requests."""

    def __init__(self, config: UpstreamConfig) -> None:
        self.config = config
        self._session: aiohttp.ClientSession | None = None
        self._url = config.base_url.rstrip("/") + "/chat/completions"
        self._headers = {"content-type": "application/json"}
        if config.api_key_env:
            key = os.environ.get(config.api_key_env, "")
            if key:
                self._headers["authorization"] = f"Bearer {key}"
        self._headers.update(config.headers)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.config.max_connections, ttl_dns_cache=300, enable_cleanup_closed=True
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                json_serialize=lambda o: orjson.dumps(o).decode(),
                auto_decompress=True,
            )
        return self._session

    def _timeout(self, stream: bool) -> aiohttp.ClientTimeout:
        c = self.config
        if stream:
            # A stream may legitimately last long; what must not happen is silence.
            return aiohttp.ClientTimeout(total=None, sock_connect=c.connect_timeout_s, sock_read=c.timeout_s)
        return aiohttp.ClientTimeout(total=c.timeout_s, sock_connect=c.connect_timeout_s)

    def _fail(self, exc: BaseException) -> UpstreamError:
        name = self.config.name
        if isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError):
            return UpstreamTimeoutError(
                f"upstream {name!r} did not answer within {self.config.timeout_s:g}s", upstream=name
            )
        return UpstreamError(
            f"upstream {name!r} is unreachable or failed: {type(exc).__name__}", upstream=name
        )

    async def complete(self, body: dict[str, Any]) -> UpstreamReply:
        """POST a non-streamed completion. Raises ``UpstreamError`` on transport failure."""
        t0 = time.perf_counter()
        try:
            async with self._client().post(
                self._url, data=orjson.dumps(body), headers=self._headers, timeout=self._timeout(False)
            ) as resp:
                raw = await resp.read()
                status = resp.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise self._fail(exc) from exc
        try:
            data = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            data = None
        return UpstreamReply(status, data, raw, time.perf_counter() - t0)

    async def open_stream(self, body: dict[str, Any]) -> UpstreamStream:
        """POST a streamed completion and return once the status line is in."""
        t0 = time.perf_counter()
        try:
            resp = await self._client().post(
                self._url, data=orjson.dumps(body), headers=self._headers, timeout=self._timeout(True)
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise self._fail(exc) from exc
        stream = UpstreamStream(self, resp, t0)
        stream.headers_s = time.perf_counter() - t0
        return stream

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class UpstreamStream:
    """An open upstream SSE response. Iterate ``chunks()``; always ``close()``."""

    def __init__(self, upstream: Upstream, resp: aiohttp.ClientResponse, t0: float) -> None:
        self._upstream = upstream
        self.resp = resp
        self.status = resp.status
        self.t0 = t0
        self.headers_s = 0.0

    async def error_reply(self) -> UpstreamReply:
        """For a non-2xx status: read the whole body as a reply."""
        try:
            raw = await self.resp.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise self._upstream._fail(exc) from exc
        finally:
            self.close()
        try:
            data = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            data = None
        return UpstreamReply(self.status, data, raw, time.perf_counter() - self.t0)

    async def chunks(self) -> AsyncIterator[dict[str, Any]]:
        """Decoded ``data:`` payloads until ``[DONE]`` or the end of the body.

        Raises ``UpstreamError``/``UpstreamTimeoutError`` if the stream breaks.
        """
        buf: list[bytes] = []
        try:
            async for line in self.resp.content:
                line = line.rstrip(b"\r\n")
                if line:
                    if line.startswith(b"data:"):
                        buf.append(line[5:].lstrip())
                    continue
                if not buf:
                    continue
                data = b"\n".join(buf)
                buf.clear()
                if data == b"[DONE]":
                    return
                try:
                    chunk = orjson.loads(data)
                except orjson.JSONDecodeError as exc:
                    raise UpstreamError("upstream sent a malformed stream event") from exc
                if isinstance(chunk, dict) and "error" in chunk and "choices" not in chunk:
                    err = chunk.get("error") or {}
                    msg = err.get("message") if isinstance(err, dict) else str(err)
                    raise UpstreamError(f"upstream reported an error mid-stream: {msg}")
                if isinstance(chunk, dict):
                    yield chunk
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise self._upstream._fail(exc) from exc

    def close(self) -> None:
        """Return the connection to the pool if the body was read to the end, else drop it."""
        if self.resp.content.at_eof():
            self.resp.release()
        else:
            self.resp.close()
