"""Gateway configuration: the upstream providers and the gateway's own knobs.

Read from a YAML file (``redline.yaml``; see ``redline.example.yaml`` and
docs/gateway.md) or built from ``--upstream NAME=BASE_URL`` flags. Validation
collects every problem and raises one ``ConfigError`` (code ``config_invalid``)
whose ``details["issues"]`` lists them, each with its own stable code:

* ``config_parse_error`` — the file is not YAML / cannot be read
* ``missing_field``, ``bad_type``, ``bad_value``, ``unknown_field``
* ``bad_url`` — ``base_url`` is not an http(s) URL
* ``duplicate_name`` — two upstreams share a name
* ``unsupported_kind`` — only ``openai`` (any OpenAI-compatible API) is served
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import yaml

from ..errors import CompileIssue, ConfigError

DEFAULT_STREAM_WINDOW_CHARS = 200
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class UpstreamConfig:
    """One upstream provider reached over the OpenAI chat-completions wire."""

    name: str
    base_url: str
    vendor: str
    models: tuple[str, ...] = ("*",)
    kind: str = "openai"
    api_key_env: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    timeout_s: float = 120.0
    connect_timeout_s: float = 5.0
    max_connections: int = 512

    def serves(self, model: str) -> bool:
        return any(fnmatch.fnmatchcase(model, pattern) for pattern in self.models)


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """Everything the gateway needs besides the enforcer and the store."""

    upstreams: tuple[UpstreamConfig, ...] = ()
    require_api_key: bool = True
    stream_window_chars: int = DEFAULT_STREAM_WINDOW_CHARS
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def resolve(self, model: str, vendor: str | None = None) -> UpstreamConfig | None:
        """The first upstream that serves ``model`` (exact names win over patterns)."""
        candidates = [u for u in self.upstreams if vendor is None or u.vendor == vendor]
        for u in candidates:
            if model in u.models:
                return u
        for u in candidates:
            if u.serves(model):
                return u
        return None


_UPSTREAM_FIELDS = {
    "name",
    "base_url",
    "vendor",
    "models",
    "kind",
    "api_key_env",
    "headers",
    "timeout_s",
    "connect_timeout_s",
    "max_connections",
}
_GATEWAY_FIELDS = {"require_api_key", "stream_window_chars", "max_body_bytes"}


class _Issues:
    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[CompileIssue] = []

    def add(self, code: str, message: str, path: str) -> None:
        self.items.append(CompileIssue(code=code, message=message, file=self.file, path=path))

    def raise_if_any(self) -> None:
        if self.items:
            summary = "; ".join(str(i) for i in self.items[:5])
            raise ConfigError(
                f"gateway config is invalid: {summary}", issues=[i.as_dict() for i in self.items]
            )


def _check_url(url: Any, path: str, issues: _Issues) -> str:
    if not isinstance(url, str) or not url:
        issues.add("missing_field", "base_url is required (e.g. http://127.0.0.1:8080/v1)", path)
        return ""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        issues.add("bad_url", f"base_url {url!r} is not an http(s) URL", path)
    return url


def _positive(value: Any, path: str, issues: _Issues, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        issues.add("bad_value", f"must be a positive number, got {value!r}", path)
        return default
    return float(value)


def _upstream(raw: Any, i: int, issues: _Issues) -> UpstreamConfig | None:
    where = f"upstreams[{i}]"
    if not isinstance(raw, dict):
        issues.add("bad_type", "each upstream must be a mapping", where)
        return None
    for key in sorted(set(raw) - _UPSTREAM_FIELDS):
        issues.add(
            "unknown_field",
            f"unknown field {key!r} (allowed: {', '.join(sorted(_UPSTREAM_FIELDS))})",
            f"{where}.{key}",
        )
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        issues.add("missing_field", "name is required", f"{where}.name")
        name = f"upstream{i}"
    base_url = _check_url(raw.get("base_url"), f"{where}.base_url", issues)
    kind = raw.get("kind", "openai")
    if kind != "openai":
        issues.add(
            "unsupported_kind",
            f"kind {kind!r} is not supported; use 'openai' (Anthropic serves an OpenAI-compatible API at "
            "https://api.anthropic.com/v1/)",
            f"{where}.kind",
        )
    models = raw.get("models", ["*"])
    if isinstance(models, str):
        models = [models]
    if not isinstance(models, list) or not models or not all(isinstance(m, str) and m for m in models):
        issues.add(
            "bad_type", "models must be a non-empty list of model names or patterns", f"{where}.models"
        )
        models = ["*"]
    vendor = raw.get("vendor", name)
    if not isinstance(vendor, str) or not vendor:
        issues.add("bad_type", "vendor must be a string", f"{where}.vendor")
        vendor = name
    key_env = raw.get("api_key_env")
    if key_env is not None and (not isinstance(key_env, str) or not key_env):
        issues.add("bad_type", "api_key_env must name an environment variable", f"{where}.api_key_env")
        key_env = None
    headers = raw.get("headers") or {}
    if not isinstance(headers, dict):
        issues.add("bad_type", "headers must be a mapping", f"{where}.headers")
        headers = {}
    max_conn = raw.get("max_connections", 512)
    if isinstance(max_conn, bool) or not isinstance(max_conn, int) or max_conn < 1:
        issues.add("bad_value", "max_connections must be a positive integer", f"{where}.max_connections")
        max_conn = 512
    return UpstreamConfig(
        name=name,
        base_url=base_url,
        vendor=vendor,
        models=tuple(models),
        kind=str(kind),
        api_key_env=key_env,
        headers={str(k): str(v) for k, v in headers.items()},
        timeout_s=_positive(raw.get("timeout_s"), f"{where}.timeout_s", issues, 120.0),
        connect_timeout_s=_positive(raw.get("connect_timeout_s"), f"{where}.connect_timeout_s", issues, 5.0),
        max_connections=max_conn,
    )


def parse_config(data: Any, file: str = "<config>", **overrides: Any) -> GatewayConfig:
    """Validate a decoded config document. ``overrides`` replace gateway fields."""
    issues = _Issues(file)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        issues.add("bad_type", "the config must be a mapping with 'upstreams' (and optionally 'gateway')", "")
        issues.raise_if_any()
    for key in sorted(set(data) - {"upstreams", "gateway"}):
        issues.add("unknown_field", f"unknown top-level field {key!r}", key)
    raw_ups = data.get("upstreams") or []
    if not isinstance(raw_ups, list):
        issues.add("bad_type", "upstreams must be a list", "upstreams")
        raw_ups = []
    ups = [u for i, raw in enumerate(raw_ups) if (u := _upstream(raw, i, issues)) is not None]
    seen: set[str] = set()
    for i, u in enumerate(ups):
        if u.name in seen:
            issues.add("duplicate_name", f"two upstreams are named {u.name!r}", f"upstreams[{i}].name")
        seen.add(u.name)
    gw = data.get("gateway") or {}
    if not isinstance(gw, dict):
        issues.add("bad_type", "gateway must be a mapping", "gateway")
        gw = {}
    for key in sorted(set(gw) - _GATEWAY_FIELDS):
        issues.add("unknown_field", f"unknown field {key!r}", f"gateway.{key}")
    values: dict[str, Any] = {k: v for k, v in gw.items() if k in _GATEWAY_FIELDS}
    values.update({k: v for k, v in overrides.items() if v is not None})
    req = values.get("require_api_key", True)
    if not isinstance(req, bool):
        issues.add("bad_type", "require_api_key must be true or false", "gateway.require_api_key")
    for key in ("stream_window_chars", "max_body_bytes"):
        v = values.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            issues.add("bad_value", f"{key} must be a positive integer", f"gateway.{key}")
    issues.raise_if_any()
    return GatewayConfig(
        upstreams=tuple(ups),
        require_api_key=bool(req),
        stream_window_chars=int(values.get("stream_window_chars") or DEFAULT_STREAM_WINDOW_CHARS),
        max_body_bytes=int(values.get("max_body_bytes") or DEFAULT_MAX_BODY_BYTES),
    )


def load_config(path: str | Path, **overrides: Any) -> GatewayConfig:
    """Read and validate a ``redline.yaml``. Raises ``ConfigError`` listing every problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        issue = CompileIssue(code="config_parse_error", message=str(exc), file=str(p))
        raise ConfigError(f"cannot read gateway config {p}: {exc}", issues=[issue.as_dict()]) from exc
    return parse_config(data, str(p), **overrides)


def parse_upstream_flag(flag: str) -> UpstreamConfig:
    """``NAME=BASE_URL`` (from ``redline serve --upstream``): an OpenAI-compatible upstream serving every model."""
    name, sep, url = flag.partition("=")
    issues = _Issues("--upstream")
    if not sep or not name:
        issues.add("bad_value", f"expected NAME=BASE_URL, got {flag!r}", "--upstream")
    _check_url(url, "--upstream", issues)
    issues.raise_if_any()
    return UpstreamConfig(name=name, base_url=url, vendor=name)


def build_config(
    path: str | Path | None = None, flags: list[str] | tuple[str, ...] = (), **overrides: Any
) -> GatewayConfig:
    """The config from an optional file plus ``--upstream`` flags (flags come first in resolution)."""
    base = load_config(path, **overrides) if path else parse_config({}, **overrides)
    extra = tuple(parse_upstream_flag(f) for f in flags)
    names = {u.name for u in base.upstreams}
    for u in extra:
        if u.name in names:
            raise ConfigError(
                f"--upstream {u.name} duplicates an upstream of the config file",
                issues=[
                    CompileIssue(
                        "duplicate_name", f"two upstreams are named {u.name!r}", "--upstream"
                    ).as_dict()
                ],
            )
    return GatewayConfig(
        upstreams=extra + base.upstreams,
        require_api_key=base.require_api_key,
        stream_window_chars=base.stream_window_chars,
        max_body_bytes=base.max_body_bytes,
    )
