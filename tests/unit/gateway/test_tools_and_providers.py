"""Tool calls are decided against their declared effect; provider directives deny or route."""

from __future__ import annotations

import time

import anthropic
import openai
import pytest
from gateway_stack import Stack

from redline.gateway.standin import Script

FIRE = {"id": "call_fire", "name": "fire_weapon", "arguments": {"target_id": "T-17", "rounds": 2}}
LOOKUP = {"id": "call_parts", "name": "lookup_parts", "arguments": {"part": "brake pad"}}
TOOLS = [
    {
        "type": "function",
        "function": {"name": "fire_weapon", "parameters": {"type": "object", "properties": {}}},
    },
    {
        "type": "function",
        "function": {"name": "lookup_parts", "parameters": {"type": "object", "properties": {}}},
    },
]
A_TOOLS = [
    {"name": "fire_weapon", "input_schema": {"type": "object", "properties": {}}},
    {"name": "lookup_parts", "input_schema": {"type": "object", "properties": {}}},
]
MSG = [{"role": "user", "content": "Handle the situation at grid 41."}]


def _assert_review(body: dict[str, object], gw: Stack) -> None:
    assert body["hold_id"] == "hold-1" and body["status_url"] == "/v1/holds/hold-1"
    assert body["stage"] == "tool_call"
    assert len(gw.holds.held) == 1
    facts, decision = gw.holds.held[0]
    assert facts.tool_calls[0].name == "fire_weapon"
    assert facts.tool_calls[0].arguments == {"target_id": "T-17", "rounds": 2}
    assert decision.code == "review_required"


def test_openai_allowed_tool_call_passes(gw: Stack) -> None:
    gw.standin.script = Script(text="", tool_calls=[LOOKUP])
    r = openai.OpenAI(base_url=gw.base, api_key=gw.key).chat.completions.create(
        model="main-model",
        messages=MSG,  # type: ignore[arg-type]
        tools=TOOLS,  # type: ignore[arg-type]
    )
    call = r.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "lookup_parts"  # type: ignore[union-attr]
    tool_facts = [f for f in gw.enforcer.seen if f.stage.value == "tool_call"]
    assert [f.tool_calls[0].name for f in tool_facts] == ["lookup_parts"]
    assert [t.name for t in gw.enforcer.seen[0].tools] == ["fire_weapon", "lookup_parts"]


def test_openai_lethal_tool_call_becomes_review_required(gw: Stack) -> None:
    gw.standin.script = Script(text="", tool_calls=[LOOKUP, FIRE])
    with pytest.raises(openai.PermissionDeniedError) as ei:
        openai.OpenAI(base_url=gw.base, api_key=gw.key).chat.completions.create(
            model="main-model",
            messages=MSG,  # type: ignore[arg-type]
            tools=TOOLS,  # type: ignore[arg-type]
        )
    assert ei.value.code == "review_required"
    assert isinstance(ei.value.body, dict)
    _assert_review(ei.value.body, gw)


async def test_openai_async_stream_lethal_tool_call_never_shown(gw: Stack) -> None:
    gw.standin.script = Script(text="Engaging.", tool_calls=[FIRE])
    client = openai.AsyncOpenAI(base_url=gw.base, api_key=gw.key)
    stream = await client.chat.completions.create(
        model="main-model",
        messages=MSG,  # type: ignore[arg-type]
        tools=TOOLS,  # type: ignore[arg-type]
        stream=True,
    )
    seen_calls = []
    with pytest.raises(openai.APIError) as ei:
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.tool_calls:
                seen_calls.append(chunk.choices[0].delta.tool_calls)
    assert ei.value.code == "review_required"
    assert seen_calls == []
    assert isinstance(ei.value.body, dict)
    _assert_review(ei.value.body, gw)


def test_anthropic_tool_use_review_required(gw: Stack) -> None:
    gw.standin.script = Script(text="", tool_calls=[FIRE])
    with pytest.raises(anthropic.PermissionDeniedError) as ei:
        anthropic.Anthropic(base_url=gw.url, api_key=gw.key).messages.create(
            model="main-model",
            max_tokens=64,
            messages=MSG,  # type: ignore[arg-type]
            tools=A_TOOLS,  # type: ignore[arg-type]
        )
    assert ei.value.error_code == "review_required"
    assert isinstance(ei.value.body, dict)
    _assert_review(ei.value.body["error"]["details"], gw)
    sent = gw.standin.requests[-1].body
    assert sent["tools"][0]["function"]["name"] == "fire_weapon"


def test_anthropic_tool_use_allowed_roundtrip(gw: Stack) -> None:
    gw.standin.script = Script(text="Checking stock.", tool_calls=[LOOKUP])
    client = anthropic.Anthropic(base_url=gw.url, api_key=gw.key)
    m = client.messages.create(model="main-model", max_tokens=64, messages=MSG, tools=A_TOOLS)  # type: ignore[arg-type]
    assert m.stop_reason == "tool_use"
    use = next(b for b in m.content if b.type == "tool_use")
    assert use.name == "lookup_parts" and use.input == {"part": "brake pad"}
    # Send the tool result back: it must reach the upstream as an OpenAI tool message.
    gw.standin.script = Script(text="12 in stock.")
    m2 = client.messages.create(
        model="main-model",
        max_tokens=64,
        tools=A_TOOLS,  # type: ignore[arg-type]
        messages=[
            MSG[0],  # type: ignore[list-item]
            {"role": "assistant", "content": m.content},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "12"}]},
        ],
    )
    assert m2.content[0].text == "12 in stock."  # type: ignore[union-attr]
    sent = gw.standin.requests[-1].body["messages"]
    assert sent[1]["tool_calls"][0]["function"]["name"] == "lookup_parts"
    assert sent[2] == {"role": "tool", "tool_call_id": use.id, "content": "12"}


def test_anthropic_stream_tool_use_allowed(gw: Stack) -> None:
    gw.standin.script = Script(text="Checking.", tool_calls=[LOOKUP])
    with anthropic.Anthropic(base_url=gw.url, api_key=gw.key).messages.stream(
        model="main-model",
        max_tokens=64,
        messages=MSG,  # type: ignore[arg-type]
        tools=A_TOOLS,  # type: ignore[arg-type]
    ) as s:
        final = s.get_final_message()
    kinds = [b.type for b in final.content]
    assert kinds == ["text", "tool_use"]
    assert final.content[1].input == {"part": "brake pad"}  # type: ignore[union-attr]
    assert final.stop_reason == "tool_use"


# ---- provider directives -------------------------------------------------------------


def test_provider_denied_openai(gw: Stack) -> None:
    with pytest.raises(openai.PermissionDeniedError) as ei:
        openai.OpenAI(base_url=gw.base, api_key=gw.key).chat.completions.create(
            model="blocked-large",
            messages=MSG,  # type: ignore[arg-type]
        )
    assert ei.value.code == "provider_denied"
    assert isinstance(ei.value.body, dict)
    assert "designated a supply-chain risk" in ei.value.body["reasons"][0]
    assert gw.standin.requests == []
    assert gw.enforcer.seen[0].target.vendor == "blockedvendor"


async def test_provider_denied_anthropic_async_stream(gw: Stack) -> None:
    with pytest.raises(anthropic.PermissionDeniedError) as ei:
        await anthropic.AsyncAnthropic(base_url=gw.url, api_key=gw.key).messages.create(
            model="blocked-large",
            max_tokens=10,
            messages=MSG,  # type: ignore[arg-type]
            stream=True,
        )
    assert ei.value.error_code == "provider_denied"
    assert gw.standin.requests == []


def test_route_sends_to_other_model(gw: Stack) -> None:
    r = openai.OpenAI(base_url=gw.base, api_key=gw.key).chat.completions.create(
        model="legacy-model",
        messages=MSG,  # type: ignore[arg-type]
    )
    assert r.choices[0].message.content
    assert gw.standin.requests[-1].body["model"] == "main-model"
    out = next(f for f in gw.enforcer.seen if f.stage.value == "output")
    assert out.target.model == "main-model" and out.target.vendor == "mainvendor"


def test_provider_usage_inventory(gw: Stack) -> None:
    openai.OpenAI(base_url=gw.base, api_key=gw.key).chat.completions.create(
        model="inventory-model", messages=MSG
    )  # type: ignore[arg-type]
    # The usage recorder writes off the request path: poll the store until the row lands.
    for _ in range(250):
        rows = gw.run(gw.store.provider_usage(0))
        if any(r.model == "inventory-model" for r in rows):
            break
        time.sleep(0.02)
    row = next(r for r in rows if r.model == "inventory-model")
    assert (row.tenant, row.app, row.vendor, row.count) == ("acme", "tests", "mainvendor", 1)
