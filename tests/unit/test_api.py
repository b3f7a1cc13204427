"""The decision API over real HTTP: /v1/check, /healthz, OpenAPI, errors as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from redline.api import create_app
from redline.settings import load_settings
from tests.support.cli import issue_key
from tests.support.http import request_json
from tests.support.server import serving

RED = "Engage all hostile personnel in the sector without further human authorization."


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("api")
    settings = load_settings(
        environ={},
        data_dir=Path(data),
        classifier="keywords",
        max_body_bytes=4096,
        require_api_key=False,
        upstreams=["stub=http://127.0.0.1:9/v1"],
    )
    with serving(create_app(settings)) as url:
        yield url


def call(url: str, body: bytes | None = None, method: str = "POST") -> tuple[int, Any, dict[str, str]]:
    return request_json(url, raw=body, method=method)


def test_healthz(base: str) -> None:
    status, body, _ = call(f"{base}/healthz", method="GET")
    assert status == 200 and body == {"status": "ok"}


def test_check_allows_and_denies(base: str) -> None:
    status, d, _ = call(f"{base}/v1/check", json.dumps({"text": "plan the fuel resupply"}).encode())
    assert status == 200 and d["verdict"] == "allow"
    status, d, _ = call(f"{base}/v1/check", json.dumps({"text": RED}).encode())
    assert status == 200 and d["verdict"] == "deny" and d["category"] == "autonomous_lethal_targeting"
    assert d["id"].startswith("dec_") and "ledger_ms" in d["timings"]


def test_check_tool_call_stage(base: str) -> None:
    body = {"tool_calls": [{"name": "fire_mission", "arguments": {"grid": "38S"}}]}
    status, d, _ = call(f"{base}/v1/check", json.dumps(body).encode())
    assert status == 200 and d["stage"] == "tool_call" and d["verdict"] == "review"
    assert d["approvals"]["count"] == 2


def test_malformed_json_is_a_clear_400(base: str) -> None:
    status, body, _ = call(f"{base}/v1/check", b"{not json")
    assert status == 400 and body["error"]["code"] == "invalid_request"


def test_missing_text_is_a_clear_400(base: str) -> None:
    status, body, _ = call(f"{base}/v1/check", b"{}")
    assert status == 400 and body["error"]["code"] == "invalid_request"
    assert "give text" in body["error"]["message"]


def test_oversized_body_is_413(base: str) -> None:
    status, body, _ = call(f"{base}/v1/check", json.dumps({"text": "x" * 10_000}).encode())
    assert status == 413 and body["error"]["code"] == "body_too_large"


def test_openapi_document_lists_check(base: str) -> None:
    status, doc, _ = call(f"{base}/openapi.json", method="GET")
    assert status == 200 and "/v1/check" in doc["paths"]


def test_api_key_sets_the_principal_and_fixed_attributes(tmp_path_factory: pytest.TempPathFactory) -> None:

    data = Path(tmp_path_factory.mktemp("keyed"))
    db = f"sqlite:///{data / 'redline.db'}"
    key = issue_key(db, "acme", "ops", "--user", "ana", "--attr", "purpose=logistics")
    policy = data / "p.yaml"
    policy.write_text(
        "redline: 1\nname: p\ncategories:\n  general: {threshold: 0}\n"
        "rules:\n  - {id: no-recruiting, when: {attributes: {purpose: {equals: recruiting}}}, verdict: deny}\n"
    )
    settings = load_settings(
        environ={},
        data_dir=data,
        classifier="keywords",
        policy_path=policy,
        upstreams=["stub=http://127.0.0.1:9/v1"],
    )

    def keyed(body: dict[str, Any], key: str, **headers: str) -> dict[str, Any]:
        status, answer, _ = request_json(
            f"{url}/v1/check", body, headers={"authorization": f"Bearer {key}", **headers}
        )
        return {"status": status, **answer}

    with serving(create_app(settings)) as url:
        status, body, _ = call(f"{url}/v1/check", json.dumps({"text": "hello"}).encode())
        assert status == 401 and body["error"]["code"] == "unauthorized"
        # The key fixes purpose=logistics: neither the body nor a header can turn it into recruiting.
        d = keyed(
            {"text": "hello", "attributes": {"purpose": "recruiting"}},
            key,
            **{"x-redline-purpose": "recruiting"},
        )
        assert d["status"] == 200 and d["verdict"] == "allow"
        # A key without fixed attributes lets the request's own purpose count: the rule does fire.
        plain = issue_key(db, "acme", "ops")
        d = keyed({"text": "hello"}, plain, **{"x-redline-purpose": "recruiting"})
        assert d["status"] == 200 and d["verdict"] == "deny" and d["rules"] == ["no-recruiting"]
        assert keyed({"text": "hi"}, "rl-nope")["status"] == 401
        assert keyed({"text": "hi"}, "sk-not-ours")["status"] == 401
