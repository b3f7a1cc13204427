"""The OpenAI chat-completions wire: what redline reads from requests and responses.

Only the fields the policy needs are interpreted; everything else in a request is
forwarded to the upstream untouched, so new OpenAI parameters keep working.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from ..errors import InputError
from ..facts import Message, ToolCall, ToolSpec


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A validated chat-completions request. ``body`` is the dict forwarded upstream."""

    body: dict[str, Any]
    model: str
    stream: bool
    messages: tuple[Message, ...]
    tools: tuple[ToolSpec, ...]


def flatten_content(content: Any) -> str:
    """Text of an OpenAI/Anthropic content value: a string or a list of typed parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts: list[str] = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    parts.append(part["text"])
                elif part.get("type") == "tool_result":
                    parts.append(flatten_content(part.get("content")))
                elif part.get("type") == "tool_use":
                    args = orjson.dumps(part.get("input") or {}).decode()
                    parts.append(f"{part.get('name', '')}({args})")
        return "\n".join(p for p in parts if p)
    raise InputError("message content must be a string or a list of content parts", param="content")


def _tool_call_text(calls: Any) -> str:
    if not isinstance(calls, list):
        return ""
    out = []
    for call in calls:
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict):
            out.append(f"{fn.get('name', '')}({fn.get('arguments', '')})")
    return "\n".join(out)


def parse_chat_request(payload: Any) -> ChatRequest:
    """Validate the parts redline relies on; raise ``InputError`` (400) otherwise."""
    if not isinstance(payload, dict):
        raise InputError("request body must be a JSON object")
    model = payload.get("model")
    if not isinstance(model, str) or not model:
        raise InputError("'model' is required and must be a string", param="model")
    raw_messages = payload.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise InputError("'messages' must be a non-empty array", param="messages")
    messages: list[Message] = []
    for i, m in enumerate(raw_messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise InputError(f"messages[{i}] must be an object with a 'role'", param=f"messages[{i}]")
        text = flatten_content(m.get("content"))
        calls = _tool_call_text(m.get("tool_calls"))
        messages.append(Message(role=m["role"], content="\n".join(t for t in (text, calls) if t)))
    stream = payload.get("stream", False)
    if not isinstance(stream, bool):
        raise InputError("'stream' must be a boolean", param="stream")
    return ChatRequest(payload, model, stream, tuple(messages), parse_tools(payload))


def parse_tools(payload: dict[str, Any]) -> tuple[ToolSpec, ...]:
    tools: list[ToolSpec] = []
    for t in payload.get("tools") or []:
        fn = t.get("function") if isinstance(t, dict) else None
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            params = fn.get("parameters")
            tools.append(
                ToolSpec(
                    name=fn["name"],
                    description=str(fn.get("description") or ""),
                    parameters=params if isinstance(params, dict) else {},
                )
            )
    for fn in payload.get("functions") or []:
        if isinstance(fn, dict) and isinstance(fn.get("name"), str):
            tools.append(ToolSpec(name=fn["name"], description=str(fn.get("description") or "")))
    return tuple(tools)


def decode_arguments(raw: Any) -> dict[str, Any]:
    """Tool-call arguments as a dict. Undecodable text is kept under ``_raw`` so it is still judged."""
    if isinstance(raw, dict):
        return raw
    if not isinstance(raw, str) or not raw.strip():
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"_value": value}


@dataclass(frozen=True, slots=True)
class ChoiceOutput:
    """What one choice of a completion says: its text and the tool calls it makes."""

    index: int
    text: str
    tool_calls: tuple[ToolCall, ...]


def completion_outputs(data: Any) -> list[ChoiceOutput]:
    """Outputs of a non-streamed ``chat.completion`` (one per choice, ``n`` supported)."""
    out: list[ChoiceOutput] = []
    choices = data.get("choices") if isinstance(data, dict) else None
    for pos, choice in enumerate(choices or []):
        if not isinstance(choice, dict):
            continue
        msg = choice.get("message") or {}
        calls = []
        for c in msg.get("tool_calls") or []:
            fn = c.get("function") or {}
            calls.append(
                ToolCall(
                    id=str(c.get("id") or ""),
                    name=str(fn.get("name") or ""),
                    arguments=decode_arguments(fn.get("arguments")),
                )
            )
        legacy = msg.get("function_call")
        if isinstance(legacy, dict):
            calls.append(
                ToolCall(
                    name=str(legacy.get("name") or ""), arguments=decode_arguments(legacy.get("arguments"))
                )
            )
        text = flatten_content(msg.get("content"))
        out.append(ChoiceOutput(int(choice.get("index", pos)), text, tuple(calls)))
    return out
