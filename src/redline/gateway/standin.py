"""A fast upstream stand-in that speaks the OpenAI chat-completions wire.

Used by the gateway's tests and ``bench/gateway.py``; never by ``redline serve``.
It is a real aiohttp HTTP server on 127.0.0.1 that records every request it
receives (``requests``) and answers according to ``script``: fixed text (or one
of several texts, picked by the last message's content so the same request always
gets the same answer, optionally numbered so that no two answers are alike) or
tool calls, optionally streamed as 5 chunks + ``[DONE]``, an error status, or a
delay.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web


@dataclass
class Script:
    """How the stand-in answers the next requests."""

    text: str = "Hello from the stand-in."
    texts: tuple[str, ...] = ()
    """When set, the answer is ``texts[crc32(last message content) % len(texts)]`` instead of ``text``."""
    numbered: bool = False
    """Append `` (ref N)``, N counting answers, so that no two answers are the same text."""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    error_message: str = "stand-in error"
    delay_s: float = 0.0
    chunks: int = 5

    def answer(self, body: dict[str, Any], number: int = 0) -> str:
        text = self.text
        if self.texts:
            messages = body.get("messages") or [{}]
            last = messages[-1].get("content") if isinstance(messages[-1], dict) else None
            key = last if isinstance(last, str) else orjson.dumps(last).decode()
            text = self.texts[zlib.crc32(key.encode()) % len(self.texts)]
        return f"{text} (ref {number})" if self.numbered else text


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any


def completion(model: str, text: str, tool_calls: list[dict[str, Any]], n: int = 1) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text or None}
    if tool_calls:
        message["tool_calls"] = [
            {
                "id": c.get("id", f"call_{i}"),
                "type": "function",
                "function": {"name": c["name"], "arguments": orjson.dumps(c.get("arguments", {})).decode()},
            }
            for i, c in enumerate(tool_calls)
        ]
    return {
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": i,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if tool_calls else "stop",
            }
            for i in range(n)
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21},
    }


def _split(text: str, parts: int) -> list[str]:
    if not text:
        return []
    size = max(1, -(-len(text) // parts))
    return [text[i : i + size] for i in range(0, len(text), size)]


class StandIn:
    """Start with ``await start()``; ``base_url`` is then ``http://127.0.0.1:<port>/v1``."""

    def __init__(self, script: Script | None = None, *, record: bool = True) -> None:
        self.script = script or Script()
        self.record = record
        self.requests: list[Recorded] = []
        self.answered = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self, port: int = 0) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "standin", "object": "model"}]})

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = orjson.loads(raw)
        if self.record:
            self.requests.append(Recorded(request.path, dict(request.headers), body))
        s = self.script
        if s.delay_s:
            await asyncio.sleep(s.delay_s)
        if s.status != 200:
            err = {"error": {"message": s.error_message, "type": "server_error", "param": None, "code": None}}
            return web.Response(body=orjson.dumps(err), status=s.status, content_type="application/json")
        model = str(body.get("model", "standin"))
        n = int(body.get("n") or 1)
        self.answered += 1
        text = s.answer(body, self.answered)
        if not body.get("stream"):
            return web.Response(
                body=orjson.dumps(completion(model, text, s.tool_calls, n)), content_type="application/json"
            )
        resp = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await resp.prepare(request)
        base = {
            "id": "chatcmpl-standin",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }

        async def send(choices: list[dict[str, Any]], **extra: Any) -> None:
            await resp.write(b"data: " + orjson.dumps({**base, "choices": choices, **extra}) + b"\n\n")

        for i in range(n):
            await send([{"index": i, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        for piece in _split(text, s.chunks):
            for i in range(n):
                await send([{"index": i, "delta": {"content": piece}, "finish_reason": None}])
        for t, call in enumerate(s.tool_calls):
            args = orjson.dumps(call.get("arguments", {})).decode()
            half = len(args) // 2
            first = {"index": t, "id": call.get("id", f"call_{t}"), "type": "function"}
            first["function"] = {"name": call["name"], "arguments": args[:half]}
            await send([{"index": 0, "delta": {"tool_calls": [first]}, "finish_reason": None}])
            rest = {"index": t, "function": {"arguments": args[half:]}}
            await send([{"index": 0, "delta": {"tool_calls": [rest]}, "finish_reason": None}])
        finish = "tool_calls" if s.tool_calls else "stop"
        for i in range(n):
            await send([{"index": i, "delta": {}, "finish_reason": finish}])
        if (body.get("stream_options") or {}).get("include_usage"):
            await send([], usage={"prompt_tokens": 9, "completion_tokens": 12, "total_tokens": 21})
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp
