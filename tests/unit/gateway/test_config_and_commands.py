"""redline.yaml validation, --upstream flags, and the keys/report CLI commands."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from redline.errors import ConfigError
from redline.gateway.commands import keys, report
from redline.gateway.config import build_config, load_config, parse_config, parse_upstream_flag
from redline.store import open_store

EXAMPLE = Path(__file__).resolve().parents[3] / "redline.example.yaml"


def codes(exc: ConfigError) -> list[str]:
    return [i["code"] for i in exc.details["issues"]]


def test_example_config_is_valid() -> None:
    cfg = load_config(EXAMPLE)
    assert cfg.upstreams and cfg.require_api_key
    names = [u.name for u in cfg.upstreams]
    assert len(names) == len(set(names))


def test_resolution_exact_before_pattern() -> None:
    cfg = parse_config(
        {
            "upstreams": [
                {"name": "any", "base_url": "http://a/v1", "models": ["*"]},
                {"name": "gpt", "base_url": "http://b/v1", "vendor": "openai", "models": ["gpt-4o"]},
            ]
        }
    )
    assert cfg.resolve("gpt-4o").name == "gpt"  # type: ignore[union-attr]
    assert cfg.resolve("other").name == "any"  # type: ignore[union-attr]
    assert cfg.resolve("gpt-4o", vendor="nobody") is None
    assert cfg.upstreams[0].vendor == "any"


def test_every_problem_is_reported_with_a_code() -> None:
    with pytest.raises(ConfigError) as ei:
        parse_config(
            {
                "upstreams": [
                    {"name": "a", "base_url": "ftp://x", "kind": "anthropic", "colour": "red"},
                    {"name": "a", "base_url": "http://ok/v1", "models": [], "timeout_s": -1},
                    {"base_url": None},
                ],
                "gateway": {"stream_window_chars": 0, "require_api_key": "yes"},
                "extra": 1,
            }
        )
    got = codes(ei.value)
    for code in (
        "bad_url",
        "unsupported_kind",
        "unknown_field",
        "duplicate_name",
        "bad_type",
        "bad_value",
        "missing_field",
    ):
        assert code in got, code
    assert ei.value.code == "config_invalid"


def test_unreadable_yaml(tmp_path: Path) -> None:
    p = tmp_path / "redline.yaml"
    p.write_text("upstreams: [\n")
    with pytest.raises(ConfigError) as ei:
        load_config(p)
    assert codes(ei.value) == ["config_parse_error"]


def test_upstream_flags() -> None:
    u = parse_upstream_flag("local=http://127.0.0.1:8081/v1")
    assert (u.name, u.base_url, u.models, u.vendor) == ("local", "http://127.0.0.1:8081/v1", ("*",), "local")
    with pytest.raises(ConfigError):
        parse_upstream_flag("no-equals-sign")
    with pytest.raises(ConfigError):
        parse_upstream_flag("x=not-a-url")
    cfg = build_config(EXAMPLE, ["quick=http://127.0.0.1:9/v1"], require_api_key=False)
    assert cfg.upstreams[0].name == "quick" and not cfg.require_api_key
    with pytest.raises(ConfigError):
        build_config(EXAMPLE, [f"{cfg.upstreams[1].name}=http://127.0.0.1:9/v1"])


def test_keys_and_report_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    runner = CliRunner()
    out = runner.invoke(
        keys,
        [
            "issue",
            "--tenant",
            "acme",
            "--app",
            "ops",
            "--attr",
            "purpose=logistics",
            "--json",
            "--database-url",
            url,
        ],
    )
    assert out.exit_code == 0, out.output
    issued = json.loads(out.output)
    assert issued["key"].startswith("rl-")
    listed = json.loads(runner.invoke(keys, ["list", "--json", "--database-url", url]).output)
    assert [(k["tenant"], k["app"], k["attributes"]) for k in listed] == [
        ("acme", "ops", {"purpose": "logistics"})
    ]
    assert issued["key"] not in runner.invoke(keys, ["list", "--database-url", url]).output
    assert runner.invoke(keys, ["revoke", issued["key_hash"][:10], "--database-url", url]).exit_code == 0
    assert runner.invoke(keys, ["revoke", issued["key"], "--database-url", url]).exit_code == 1

    async def seed() -> None:
        store = await open_store(url)
        for _ in range(3):
            await store.record_provider_use("acme", "ops", "oldvendor", "big-1", 1_900_000_000.0)
        await store.close()

    asyncio.run(seed())
    rows = json.loads(
        runner.invoke(report, ["providers", "--days", "100000", "--json", "--database-url", url]).output
    )
    assert [(r["tenant"], r["app"], r["vendor"], r["count"]) for r in rows] == [
        ("acme", "ops", "oldvendor", 3)
    ]
    text = runner.invoke(report, ["providers", "--days", "100000", "--database-url", url]).output
    assert "oldvendor" in text and "acme/ops: 3" in text


def test_json_log_line_carries_decision_ids() -> None:
    import logging

    from redline.gateway.logs import JsonFormatter

    record = logging.LogRecord("redline.gateway", logging.INFO, __file__, 1, "request", None, None)
    record.redline = {"decision_ids": ["dec_1", "dec_2"], "status": 200}
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "request" and line["decision_ids"] == ["dec_1", "dec_2"] and line["status"] == 200
