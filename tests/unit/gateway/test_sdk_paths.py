"""The official SDKs, sync and async, streamed and not, through redline: allow and deny."""

from __future__ import annotations

import anthropic
import openai
import pytest
from gateway_stack import RED_LINE_TEXT, Stack

from redline.gateway.standin import Script

HELLO = "Summarise the maintenance schedule for the trucks."


def oa(gw: Stack) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base, api_key=gw.key)


def aoa(gw: Stack) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gw.base, api_key=gw.key)


def an(gw: Stack) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url, api_key=gw.key)


def aan(gw: Stack) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=gw.url, api_key=gw.key)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


# ---- allowed -------------------------------------------------------------------------


def test_openai_sync_allowed(gw: Stack) -> None:
    r = oa(gw).chat.completions.create(model="main-model", messages=user(HELLO))  # type: ignore[arg-type]
    assert r.choices[0].message.content == "Hello from the stand-in."
    assert r.usage is not None and r.usage.total_tokens == 21
    sent = gw.standin.requests[-1]
    assert sent.body["messages"][0]["content"] == HELLO
    assert "rl-" not in sent.headers.get("Authorization", ""), "the client's redline key must not go upstream"
    stages = [f.stage.value for f in gw.enforcer.seen]
    assert stages == ["input", "output"]
    assert gw.enforcer.seen[0].principal.tenant == "acme"


async def test_openai_async_allowed_with_n(gw: Stack) -> None:
    r = await aoa(gw).chat.completions.create(model="main-model", messages=user(HELLO), n=2)  # type: ignore[arg-type]
    assert [c.message.content for c in r.choices] == ["Hello from the stand-in."] * 2
    assert [f.stage.value for f in gw.enforcer.seen] == ["input", "output", "output"]


def test_openai_sync_stream_allowed(gw: Stack) -> None:
    gw.standin.script = Script(text="The trucks need oil changes every 5000 km and new tyres in May.")
    stream = oa(gw).chat.completions.create(model="main-model", messages=user(HELLO), stream=True)  # type: ignore[arg-type]
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == gw.standin.script.text


async def test_openai_async_stream_allowed(gw: Stack) -> None:
    gw.standin.script = Script(text="Fine weather for a convoy today.")
    stream = await aoa(gw).chat.completions.create(model="main-model", messages=user(HELLO), stream=True)  # type: ignore[arg-type]
    parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(parts) == "Fine weather for a convoy today."


def test_standin_answers_each_prompt_with_its_own_text(gw: Stack) -> None:
    """``Script.texts`` (the varied traffic of bench/gateway.py): the same prompt, the same answer."""
    texts = ("Oil every 5000 km.", "Tyres in May.", "Brakes in June.")
    gw.standin.script = Script(texts=texts)
    prompts = [f"{HELLO} Depot {i}." for i in range(12)]
    first = [
        oa(gw).chat.completions.create(model="main-model", messages=user(p)).choices[0].message.content
        for p in prompts
    ]  # type: ignore[arg-type]
    again = [
        oa(gw).chat.completions.create(model="main-model", messages=user(p)).choices[0].message.content
        for p in prompts
    ]  # type: ignore[arg-type]
    assert first == again
    assert set(first) <= set(texts) and len(set(first)) > 1
    stream = oa(gw).chat.completions.create(model="main-model", messages=user(prompts[0]), stream=True)  # type: ignore[arg-type]
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == first[0]
    gw.standin.script = Script(texts=texts, numbered=True)
    numbered = [
        oa(gw)
        .chat.completions.create(model="main-model", messages=user(prompts[0]))
        .choices[0]
        .message.content  # type: ignore[arg-type]
        for _ in range(2)
    ]
    assert numbered[0] != numbered[1]
    assert all(n is not None and n.startswith(first[0] + " (ref ") for n in numbered)


def test_anthropic_sync_allowed(gw: Stack) -> None:
    m = an(gw).messages.create(
        model="main-model", max_tokens=64, system="Be brief.", messages=[{"role": "user", "content": HELLO}]
    )
    assert m.content[0].type == "text" and m.content[0].text == "Hello from the stand-in."
    assert m.stop_reason == "end_turn"
    assert m.usage.output_tokens == 12
    sent = gw.standin.requests[-1].body
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert sent["max_tokens"] == 64


async def test_anthropic_async_allowed(gw: Stack) -> None:
    m = await aan(gw).messages.create(
        model="main-model", max_tokens=64, messages=[{"role": "user", "content": HELLO}]
    )
    assert m.content[0].type == "text" and m.content[0].text == "Hello from the stand-in."


def test_anthropic_sync_stream_allowed(gw: Stack) -> None:
    gw.standin.script = Script(text="Oil changes every 5000 km; tyres in May; brakes checked weekly.")
    with an(gw).messages.stream(
        model="main-model", max_tokens=64, messages=[{"role": "user", "content": HELLO}]
    ) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == gw.standin.script.text
    assert final.stop_reason == "end_turn"


async def test_anthropic_async_stream_allowed(gw: Stack) -> None:
    gw.standin.script = Script(text="Convoy leaves at dawn.")
    stream = await aan(gw).messages.create(
        model="main-model", max_tokens=64, messages=[{"role": "user", "content": HELLO}], stream=True
    )
    kinds, text = [], ""
    async for ev in stream:
        kinds.append(ev.type)
        if ev.type == "content_block_delta" and ev.delta.type == "text_delta":
            text += ev.delta.text
    assert text == "Convoy leaves at dawn."
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"


# ---- denied input: the upstream receives nothing ---------------------------------------


def test_openai_denied_input_never_reaches_upstream(gw: Stack) -> None:
    with pytest.raises(openai.PermissionDeniedError) as ei:
        oa(gw).chat.completions.create(model="main-model", messages=user(RED_LINE_TEXT))  # type: ignore[arg-type]
    e = ei.value
    assert e.status_code == 403 and e.code == "policy_denied"
    body = e.body
    assert isinstance(body, dict)
    assert str(body["decision_id"]).startswith("dec_") and body["category"] == "mass_domestic_surveillance"
    assert body["reasons"] == ["Mass domestic surveillance is a red line of the usage terms."]
    assert gw.standin.requests == []


async def test_openai_async_stream_denied_input_never_reaches_upstream(gw: Stack) -> None:
    with pytest.raises(openai.PermissionDeniedError) as ei:
        await aoa(gw).chat.completions.create(model="main-model", messages=user(RED_LINE_TEXT), stream=True)  # type: ignore[arg-type]
    assert ei.value.code == "policy_denied"
    assert gw.standin.requests == []


def test_anthropic_denied_input_never_reaches_upstream(gw: Stack) -> None:
    with pytest.raises(anthropic.PermissionDeniedError) as ei:
        an(gw).messages.create(
            model="main-model", max_tokens=64, messages=[{"role": "user", "content": RED_LINE_TEXT}]
        )
    e = ei.value
    assert e.status_code == 403 and e.error_code == "policy_denied"
    assert e.details is not None
    assert isinstance(e.body, dict)
    details = e.body["error"]["details"]
    assert details["decision_id"] and details["reasons"] == [
        "Mass domestic surveillance is a red line of the usage terms."
    ]
    assert gw.standin.requests == []


async def test_anthropic_async_stream_denied_input(gw: Stack) -> None:
    with pytest.raises(anthropic.PermissionDeniedError) as ei:
        async with aan(gw).messages.stream(
            model="main-model", max_tokens=64, messages=[{"role": "user", "content": RED_LINE_TEXT}]
        ) as s:
            async for _ in s:
                pass
    assert ei.value.error_code == "policy_denied"
    assert gw.standin.requests == []


# ---- denied output ---------------------------------------------------------------------

INNOCENT = "Here is the plan you asked for. "
FULL = INNOCENT * 3 + RED_LINE_TEXT


def assert_cut_before_blocked(received: str) -> None:
    """Only a prefix of the stream arrived, ending before the phrase that was blocked."""
    assert FULL.startswith(received)
    assert len(received) <= FULL.index("mass surveillance")


def test_openai_denied_output_not_returned(gw: Stack) -> None:
    gw.standin.script = Script(text=INNOCENT + RED_LINE_TEXT)
    with pytest.raises(openai.PermissionDeniedError) as ei:
        oa(gw).chat.completions.create(model="main-model", messages=user(HELLO))  # type: ignore[arg-type]
    assert ei.value.code == "policy_denied"
    assert "protesters" not in str(ei.value.body)
    assert len(gw.standin.requests) == 1


def test_openai_stream_cut_before_blocked_text(gw: Stack) -> None:
    gw.standin.script = Script(text=FULL, chunks=12)
    received = ""
    stream = oa(gw).chat.completions.create(model="main-model", messages=user(HELLO), stream=True)  # type: ignore[arg-type]
    with pytest.raises(openai.APIError) as ei:
        for chunk in stream:
            if chunk.choices:
                received += chunk.choices[0].delta.content or ""
    assert ei.value.code == "policy_denied"
    assert isinstance(ei.value.body, dict) and ei.value.body["decision_id"]
    assert_cut_before_blocked(received)


async def test_anthropic_async_stream_cut_before_blocked_text(gw: Stack) -> None:
    gw.standin.script = Script(text=FULL, chunks=12)
    received = ""
    stream = await aan(gw).messages.create(
        model="main-model", max_tokens=64, messages=[{"role": "user", "content": HELLO}], stream=True
    )
    with pytest.raises(anthropic.APIStatusError) as ei:
        async for ev in stream:
            if ev.type == "content_block_delta" and ev.delta.type == "text_delta":
                received += ev.delta.text
    assert ei.value.error_code == "policy_denied"
    assert_cut_before_blocked(received)
    assert received, "the checked, allowed prefix was released"


def test_anthropic_sync_stream_cut(gw: Stack) -> None:
    gw.standin.script = Script(text=RED_LINE_TEXT)
    with (
        pytest.raises(anthropic.APIStatusError) as ei,
        an(gw).messages.stream(
            model="main-model", max_tokens=64, messages=[{"role": "user", "content": HELLO}]
        ) as s,
    ):
        for _ in s.text_stream:
            pass
    assert ei.value.error_code == "policy_denied"
