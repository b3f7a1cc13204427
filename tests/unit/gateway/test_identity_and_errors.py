"""Who is calling (keys, headers) and every way a request can fail, in each wire's shape."""

from __future__ import annotations

import urllib.error
import urllib.request

import anthropic
import openai
import orjson
import pytest
from gateway_stack import Stack

from redline.gateway.keys import issue_key, revoke_key
from redline.gateway.standin import Script

MSG = [{"role": "user", "content": "List spare parts for the generator."}]


def raw_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, object], dict[str, str]]:
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, orjson.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, orjson.loads(exc.read()), dict(exc.headers)


# ---- keys ------------------------------------------------------------------------------


def test_bad_api_key_openai(gw: Stack) -> None:
    with pytest.raises(openai.AuthenticationError) as ei:
        openai.OpenAI(base_url=gw.base, api_key="rl-not-a-real-key").chat.completions.create(
            model="m",
            messages=MSG,  # type: ignore[arg-type]
        )
    assert ei.value.status_code == 401 and ei.value.code == "unauthorized"
    assert gw.standin.requests == [] and gw.enforcer.seen == []


def test_bad_api_key_anthropic(gw: Stack) -> None:
    with pytest.raises(anthropic.AuthenticationError) as ei:
        anthropic.Anthropic(base_url=gw.url, api_key="sk-ant-something").messages.create(
            model="m",
            max_tokens=5,
            messages=MSG,  # type: ignore[arg-type]
        )
    assert ei.value.error_code == "unauthorized"
    assert gw.standin.requests == []


def test_missing_key_rejected_when_required(gw: Stack) -> None:
    status, body, _ = raw_post(
        gw.base + "/chat/completions",
        orjson.dumps({"model": "m", "messages": MSG}),
        {"content-type": "application/json"},
    )
    assert status == 401 and body["error"]["code"] == "unauthorized"  # type: ignore[index]


def test_revoked_key_rejected(gw: Stack) -> None:
    key, digest = gw.run(issue_key(gw.store, tenant="acme", app="old"))
    assert gw.run(revoke_key(gw.store, digest[:12]))
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=gw.base, api_key=key).chat.completions.create(model="m", messages=MSG)  # type: ignore[arg-type]


def test_dev_mode_accepts_requests_without_a_redline_key(gw: Stack) -> None:
    r = openai.OpenAI(base_url=gw.dev_url + "/v1", api_key="anything").chat.completions.create(
        model="m",
        messages=MSG,  # type: ignore[arg-type]
    )
    assert r.choices[0].message.content
    assert gw.enforcer.seen[0].principal.tenant == "default"


def test_dev_mode_still_checks_redline_keys(gw: Stack) -> None:
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=gw.dev_url + "/v1", api_key="rl-forged").chat.completions.create(
            model="m",
            messages=MSG,  # type: ignore[arg-type]
        )


def test_header_attributes_cannot_override_key_bound_ones(gw: Stack) -> None:
    client = openai.OpenAI(
        base_url=gw.base,
        api_key=gw.key,
        default_headers={
            "X-Redline-Purpose": "targeting",  # the key fixes purpose=logistics
            "X-Redline-Legal-Authority": "warrant 2024-117",
            "X-Redline-Classification": "SECRET",
            "X-Redline-Subject": "person-42",
            "X-Redline-Label-Mission-Id": "m-9",
        },
    )
    client.chat.completions.create(model="m", messages=MSG)  # type: ignore[arg-type]
    attrs = gw.enforcer.seen[0].attributes
    assert attrs.purpose == "logistics"
    assert attrs.legal_authority == "warrant 2024-117"
    assert attrs.classification == "SECRET"
    assert attrs.subject == "person-42"
    assert attrs.labels == {"mission_id": "m-9"}
    assert gw.enforcer.seen[0].principal.user == "ana"


def test_anthropic_headers_reach_facts(gw: Stack) -> None:
    anthropic.Anthropic(base_url=gw.url, api_key=gw.key).messages.create(
        model="m",
        max_tokens=5,
        messages=MSG,  # type: ignore[arg-type]
        extra_headers={"X-Redline-Legal-Authority": "FISA-702"},
    )
    assert gw.enforcer.seen[0].attributes.legal_authority == "FISA-702"


# ---- malformed and oversized bodies -------------------------------------------------------


def test_malformed_json_openai_shape(gw: Stack) -> None:
    status, body, headers = raw_post(
        gw.base + "/chat/completions",
        b'{"model": "m", "messages": [',
        {"authorization": f"Bearer {gw.key}", "content-type": "application/json"},
    )
    assert status == 400
    assert body["error"]["code"] == "invalid_request"  # type: ignore[index]
    assert body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert headers.get("x-should-retry") == "false"
    assert gw.standin.requests == []


def test_malformed_json_anthropic_shape(gw: Stack) -> None:
    status, body, _ = raw_post(
        gw.url + "/v1/messages", b"not json", {"x-api-key": gw.key, "content-type": "application/json"}
    )
    assert status == 400
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert body["error"]["details"]["error_code"] == "invalid_request"  # type: ignore[index]


def test_invalid_request_via_sdk(gw: Stack) -> None:
    with pytest.raises(openai.BadRequestError) as ei:
        openai.OpenAI(base_url=gw.base, api_key=gw.key).chat.completions.create(model="m", messages=[])
    assert ei.value.code == "invalid_request"


def test_oversized_body_openai(gw: Stack) -> None:
    big = [{"role": "user", "content": "x" * (70 * 1024)}]
    with pytest.raises(openai.APIStatusError) as ei:
        openai.OpenAI(base_url=gw.base, api_key=gw.key).chat.completions.create(model="m", messages=big)  # type: ignore[arg-type]
    assert ei.value.status_code == 413 and ei.value.code == "body_too_large"
    assert gw.standin.requests == []


def test_oversized_body_anthropic(gw: Stack) -> None:
    big = [{"role": "user", "content": "x" * (70 * 1024)}]
    with pytest.raises(anthropic.APIStatusError) as ei:
        anthropic.Anthropic(base_url=gw.url, api_key=gw.key).messages.create(
            model="m", max_tokens=5, messages=big
        )  # type: ignore[arg-type]
    assert ei.value.status_code == 413 and ei.value.error_code == "body_too_large"
    assert ei.value.type == "request_too_large"


# ---- upstream failures ---------------------------------------------------------------


def test_upstream_down_openai(gw: Stack) -> None:
    client = openai.OpenAI(base_url=gw.base, api_key=gw.key, max_retries=0)
    with pytest.raises(openai.InternalServerError) as ei:
        client.chat.completions.create(model="down-model", messages=MSG)  # type: ignore[arg-type]
    assert ei.value.status_code == 502 and ei.value.code == "upstream_error"


async def test_upstream_down_anthropic_async_stream(gw: Stack) -> None:
    client = anthropic.AsyncAnthropic(base_url=gw.url, api_key=gw.key, max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as ei:
        await client.messages.create(model="down-model", max_tokens=5, messages=MSG, stream=True)  # type: ignore[arg-type]
    assert ei.value.status_code == 502 and ei.value.error_code == "upstream_error"


def test_upstream_timeout_openai(gw: Stack) -> None:
    client = openai.OpenAI(base_url=gw.base, api_key=gw.key)  # default retries: 504 must say "do not retry"
    with pytest.raises(openai.APIStatusError) as ei:
        client.chat.completions.create(model="slow-model", messages=MSG)  # type: ignore[arg-type]
    assert ei.value.status_code == 504 and ei.value.code == "upstream_timeout"
    assert len(gw.slow.requests) >= 1
    assert ei.value.response.headers["x-should-retry"] == "false"


def test_upstream_timeout_anthropic(gw: Stack) -> None:
    client = anthropic.Anthropic(base_url=gw.url, api_key=gw.key)
    with pytest.raises(anthropic.APIStatusError) as ei:
        client.messages.create(model="slow-model", max_tokens=5, messages=MSG)  # type: ignore[arg-type]
    assert ei.value.status_code == 504 and ei.value.error_code == "upstream_timeout"
    assert ei.value.type == "timeout_error"


def test_upstream_5xx_becomes_502(gw: Stack) -> None:
    gw.standin.script = Script(status=500, error_message="boom")
    client = openai.OpenAI(base_url=gw.base, api_key=gw.key, max_retries=0)
    with pytest.raises(openai.InternalServerError) as ei:
        client.chat.completions.create(model="m", messages=MSG)  # type: ignore[arg-type]
    assert ei.value.status_code == 502 and ei.value.code == "upstream_error"
    assert "boom" in ei.value.message


def test_upstream_4xx_keeps_status_streamed(gw: Stack) -> None:
    gw.standin.script = Script(status=400, error_message="context too long")
    client = anthropic.Anthropic(base_url=gw.url, api_key=gw.key)
    with pytest.raises(anthropic.BadRequestError) as ei:
        client.messages.create(model="m", max_tokens=5, messages=MSG, stream=True)  # type: ignore[arg-type]
    assert ei.value.error_code == "upstream_rejected"
    assert "context too long" in str(ei.value)


# ---- operations -----------------------------------------------------------------------


def test_models_both_wires(gw: Stack) -> None:
    # Only exact names are listed; the test stack serves patterns, so the lists are empty but well-formed.
    assert openai.OpenAI(base_url=gw.base, api_key=gw.key).models.list().data is not None
    page = anthropic.Anthropic(base_url=gw.url, api_key=gw.key).models.list()
    assert page.data is not None


def test_health_ready_and_metrics(gw: Stack) -> None:
    openai.OpenAI(base_url=gw.base, api_key=gw.key).chat.completions.create(model="m", messages=MSG)  # type: ignore[arg-type]
    with urllib.request.urlopen(gw.url + "/healthz") as r:
        assert r.status == 200
    with urllib.request.urlopen(gw.url + "/readyz") as r:
        assert orjson.loads(r.read())["status"] == "ready"
    with urllib.request.urlopen(gw.url + "/metrics") as r:
        text = r.read().decode()
    assert 'redline_decisions_total{category="general",stage="input",verdict="allow"}' in text
    assert "redline_gateway_overhead_seconds_bucket" in text
    assert "redline_upstream_latency_seconds_bucket" in text
    assert "redline_stream_interruptions_total" in text
