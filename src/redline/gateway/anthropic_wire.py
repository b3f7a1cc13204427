"""The Anthropic Messages wire, served in front of OpenAI-compatible upstreams.

Requests are validated and translated to chat-completions; responses and
stream chunks are translated back, event by event, so the official Anthropic
SDK sees the Messages API it expects (text and ``tool_use`` blocks, the
``message_start`` … ``message_stop`` event sequence).
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson

from ..errors import InputError
from ..facts import Message
from .openai_wire import ChatRequest, decode_arguments, flatten_content, parse_tools

_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def _system_text(system: Any) -> str:
    return flatten_content(system)


def _translate_messages(raw: list[Any], system: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    sys_text = _system_text(system)
    if sys_text:
        out.append({"role": "system", "content": sys_text})
    for i, m in enumerate(raw):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            raise InputError(
                f"messages[{i}] must be an object with role 'user' or 'assistant'", param=f"messages[{i}]"
            )
        content = m.get("content")
        if isinstance(content, str):
            out.append({"role": m["role"], "content": content})
            continue
        if not isinstance(content, list):
            raise InputError(f"messages[{i}].content must be a string or an array", param=f"messages[{i}]")
        texts: list[str] = []
        tool_calls: list[dict[str, Any]] = []
        for block in content:
            if not isinstance(block, dict):
                raise InputError(f"messages[{i}].content blocks must be objects", param=f"messages[{i}]")
            kind = block.get("type")
            if kind == "text":
                texts.append(str(block.get("text") or ""))
            elif kind == "tool_use":
                tool_calls.append(
                    {
                        "id": str(block.get("id") or ""),
                        "type": "function",
                        "function": {
                            "name": str(block.get("name") or ""),
                            "arguments": orjson.dumps(block.get("input") or {}).decode(),
                        },
                    }
                )
            elif kind == "tool_result":
                # OpenAI carries a tool result as its own message, ahead of the user's text.
                out.append(
                    {
                        "role": "tool",
                        "tool_call_id": str(block.get("tool_use_id") or ""),
                        "content": flatten_content(block.get("content")),
                    }
                )
        if m["role"] == "assistant":
            msg: dict[str, Any] = {"role": "assistant", "content": "\n".join(texts) or None}
            if tool_calls:
                msg["tool_calls"] = tool_calls
            out.append(msg)
        elif texts:
            out.append({"role": "user", "content": "\n".join(texts)})
    return out


def _translate_tools(tools: Any) -> list[dict[str, Any]]:
    out = []
    for t in tools or []:
        if not isinstance(t, dict) or not isinstance(t.get("name"), str):
            raise InputError("each tool needs a 'name'", param="tools")
        out.append(
            {
                "type": "function",
                "function": {
                    "name": t["name"],
                    "description": str(t.get("description") or ""),
                    "parameters": t.get("input_schema") or {"type": "object", "properties": {}},
                },
            }
        )
    return out


def _translate_tool_choice(choice: Any) -> Any:
    if not isinstance(choice, dict):
        return None
    kind = choice.get("type")
    if kind == "any":
        return "required"
    if kind == "tool":
        return {"type": "function", "function": {"name": choice.get("name")}}
    if kind == "none":
        return "none"
    return "auto"


def parse_messages_request(payload: Any) -> ChatRequest:
    """Validate an Anthropic Messages request and translate it to chat-completions."""
    if not isinstance(payload, dict):
        raise InputError("request body must be a JSON object")
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise InputError("model: field required", param="model")
    max_tokens = payload.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        raise InputError("max_tokens: field required (a positive integer)", param="max_tokens")
    raw = payload.get("messages")
    if not isinstance(raw, list) or not raw:
        raise InputError("messages: must be a non-empty array", param="messages")
    stream = payload.get("stream", False)
    if not isinstance(stream, bool):
        raise InputError("stream: must be a boolean", param="stream")
    body: dict[str, Any] = {
        "model": model,
        "messages": _translate_messages(raw, payload.get("system")),
        "max_tokens": max_tokens,
    }
    for src, dst in (("temperature", "temperature"), ("top_p", "top_p"), ("stop_sequences", "stop")):
        if payload.get(src) is not None:
            body[dst] = payload[src]
    tools = _translate_tools(payload.get("tools"))
    if tools:
        body["tools"] = tools
        choice = _translate_tool_choice(payload.get("tool_choice"))
        if choice is not None:
            body["tool_choice"] = choice
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    messages = [
        Message(role=m["role"], content=flatten_content(m.get("content")) or _calls_text(m))
        for m in body["messages"]
    ]
    return ChatRequest(body, model, stream, tuple(messages), parse_tools(body))


def _calls_text(m: dict[str, Any]) -> str:
    return "\n".join(
        f"{c['function']['name']}({c['function']['arguments']})" for c in m.get("tool_calls") or []
    )


def new_message_id() -> str:
    return "msg_" + secrets.token_hex(12)


def _usage(data: dict[str, Any]) -> dict[str, int]:
    usage = data.get("usage") or {}
    return {
        "input_tokens": int(usage.get("prompt_tokens") or 0),
        "output_tokens": int(usage.get("completion_tokens") or 0),
    }


def message_from_completion(data: dict[str, Any], model: str) -> dict[str, Any]:
    """An Anthropic ``message`` object from a chat ``completion`` (first choice)."""
    choices = data.get("choices") or [{}]
    choice = choices[0] or {}
    msg = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    text = flatten_content(msg.get("content"))
    if text:
        content.append({"type": "text", "text": text})
    for c in msg.get("tool_calls") or []:
        fn = c.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": str(c.get("id") or "toolu_" + secrets.token_hex(8)),
                "name": str(fn.get("name") or ""),
                "input": decode_arguments(fn.get("arguments")),
            }
        )
    return {
        "id": new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": _STOP_REASONS.get(str(choice.get("finish_reason")), "end_turn"),
        "stop_sequence": None,
        "usage": _usage(data),
    }


def _event(kind: str, data: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class MessageStreamWriter:
    """Turns chat-completion chunks (dicts) into Anthropic stream events (bytes).

    Feed chunks in order with ``feed``; call ``finish`` once at the end. Only the
    first choice is rendered (the Messages API has no ``n``).
    """

    def __init__(self, model: str) -> None:
        self._model = model
        self._started = False
        self._block = -1
        self._block_kind: str | None = None
        self._tool_blocks: dict[int, int] = {}
        self._stop_reason = "end_turn"
        self._usage = {"input_tokens": 0, "output_tokens": 0}

    def _start(self) -> bytes:
        self._started = True
        message: dict[str, Any] = {
            "id": new_message_id(),
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": 0, "output_tokens": 0},
        }
        return _event("message_start", {"type": "message_start", "message": message})

    def _close_block(self) -> bytes:
        if self._block_kind is None:
            return b""
        self._block_kind = None
        return _event("content_block_stop", {"type": "content_block_stop", "index": self._block})

    def _open_block(self, block: dict[str, Any]) -> bytes:
        out = self._close_block()
        self._block += 1
        self._block_kind = block["type"]
        return out + _event(
            "content_block_start",
            {"type": "content_block_start", "index": self._block, "content_block": block},
        )

    def feed(self, chunk: dict[str, Any]) -> bytes:
        out = b"" if self._started else self._start()
        if chunk.get("usage"):
            self._usage = _usage(chunk)
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            text = delta.get("content")
            if text:
                if self._block_kind != "text":
                    out += self._open_block({"type": "text", "text": ""})
                out += _event(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": self._block,
                        "delta": {"type": "text_delta", "text": text},
                    },
                )
            for call in delta.get("tool_calls") or []:
                out += self._feed_tool(call)
            if choice.get("finish_reason"):
                self._stop_reason = _STOP_REASONS.get(str(choice["finish_reason"]), "end_turn")
        return out

    def _feed_tool(self, call: dict[str, Any]) -> bytes:
        out = b""
        idx = int(call.get("index", 0))
        fn = call.get("function") or {}
        if idx not in self._tool_blocks:
            out += self._open_block(
                {
                    "type": "tool_use",
                    "id": str(call.get("id") or "toolu_" + secrets.token_hex(8)),
                    "name": str(fn.get("name") or ""),
                    "input": {},
                }
            )
            self._tool_blocks[idx] = self._block
        args = fn.get("arguments")
        if args:
            out += _event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": self._tool_blocks[idx],
                    "delta": {"type": "input_json_delta", "partial_json": args},
                },
            )
        return out

    def finish(self) -> bytes:
        out = b"" if self._started else self._start()
        out += self._close_block()
        out += _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": self._stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": self._usage["output_tokens"]},
            },
        )
        return out + _event("message_stop", {"type": "message_stop"})
