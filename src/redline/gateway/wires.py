"""The two client-facing wires behind one interface.

A ``Wire`` knows how to parse its request into a chat-completions ``ChatRequest``,
render a completion, chunks and errors in its own format, and translate an
upstream (OpenAI-shaped) error reply.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson
from starlette.responses import Response

from . import anthropic_wire, openai_wire
from .failures import (
    Failure,
    anthropic_error_body,
    anthropic_stream_error,
    openai_error_body,
    openai_stream_error,
)
from .upstream import UpstreamReply


class StreamWriter(Protocol):
    def feed(self, chunk: dict[str, Any]) -> bytes: ...
    def finish(self) -> bytes: ...


class _OpenAIStreamWriter:
    def feed(self, chunk: dict[str, Any]) -> bytes:
        return b"data: " + orjson.dumps(chunk) + b"\n\n"

    def finish(self) -> bytes:
        return b"data: [DONE]\n\n"


def upstream_failure(reply: UpstreamReply, upstream: str) -> Failure:
    """What a client sees when the upstream answered with an error (or garbage).

    4xx statuses are the caller's problem and keep their status and message;
    anything else becomes 502 ``upstream_error``.
    """
    err = reply.data.get("error") if isinstance(reply.data, dict) else None
    message = err.get("message") if isinstance(err, dict) else None
    upstream_code = err.get("code") if isinstance(err, dict) else None
    extras: dict[str, Any] = {"upstream": upstream, "upstream_status": reply.status}
    if upstream_code is not None:
        extras["upstream_code"] = upstream_code
    if 400 <= reply.status < 500:
        return Failure(
            reply.status, "upstream_rejected", str(message or f"upstream returned {reply.status}"), extras
        )
    return Failure(
        502, "upstream_error", f"upstream {upstream!r} failed: {message or f'HTTP {reply.status}'}", extras
    )


class Wire(Protocol):
    name: str

    def parse(self, payload: Any) -> openai_wire.ChatRequest: ...
    def render(self, reply: UpstreamReply, model: str) -> bytes: ...
    def error(self, failure: Failure) -> Response: ...
    def stream_error(self, failure: Failure) -> bytes: ...
    def writer(self, model: str) -> StreamWriter: ...


class OpenAIWire:
    name = "openai"

    def parse(self, payload: Any) -> openai_wire.ChatRequest:
        return openai_wire.parse_chat_request(payload)

    def render(self, reply: UpstreamReply, model: str) -> bytes:
        return reply.raw  # the upstream already speaks this wire: pass its bytes through

    def error(self, failure: Failure) -> Response:
        return Response(
            openai_error_body(failure), failure.status, failure.headers(), media_type="application/json"
        )

    def stream_error(self, failure: Failure) -> bytes:
        return openai_stream_error(failure)

    def writer(self, model: str) -> StreamWriter:
        return _OpenAIStreamWriter()


class AnthropicWire:
    name = "anthropic"

    def parse(self, payload: Any) -> openai_wire.ChatRequest:
        return anthropic_wire.parse_messages_request(payload)

    def render(self, reply: UpstreamReply, model: str) -> bytes:
        return orjson.dumps(anthropic_wire.message_from_completion(reply.data, model))

    def error(self, failure: Failure) -> Response:
        return Response(
            anthropic_error_body(failure), failure.status, failure.headers(), media_type="application/json"
        )

    def stream_error(self, failure: Failure) -> bytes:
        return anthropic_stream_error(failure)

    def writer(self, model: str) -> StreamWriter:
        return anthropic_wire.MessageStreamWriter(model)
