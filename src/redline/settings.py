"""Typed settings, read from ``REDLINE_*`` environment variables or a YAML file.

Settings are built once (``load_settings``) and passed explicitly; nothing reads
the environment later. Precedence: explicit overrides > environment > config
file > defaults.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigError


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "redline"


class Settings(BaseModel):
    """Everything a redline deployment can be told."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path = Field(
        default_factory=default_data_dir, description="where keys and the SQLite file live"
    )
    database_url: str | None = Field(
        None, description="sqlite:///path or postgresql://…; default: SQLite in data_dir"
    )
    policy_path: Path | None = Field(None, description="policy file; default: the shipped default policy")
    overlays: list[Path] = Field(
        default_factory=list, description="tenant overlays applied on top of the policy"
    )
    require_signers: list[str] = Field(
        default_factory=list, description="refuse a policy missing these signatures"
    )
    trusted_keys: dict[str, Path] = Field(
        default_factory=dict, description="signer name → Ed25519 public key file"
    )
    classifier: str = Field(
        "auto", description="'auto' (trained model if installed), 'keywords', or an artifact dir"
    )
    record: bool = Field(True, description="append every decision to the ledger before releasing it")
    checkpoint_interval_s: float = Field(
        60.0, ge=0, description="sign a checkpoint this often while the log grows (0: never)"
    )
    ledger_encrypt_content: bool = Field(
        False, description="also keep content AES-GCM-encrypted beside each entry"
    )
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = Field(1_048_576, gt=0)
    log_key_path: Path | None = Field(
        None, description="Ed25519 key that signs checkpoints; default in data_dir"
    )
    upstreams_config: Path | None = Field(None, description="redline.yaml listing upstream providers")
    upstreams: list[str] = Field(
        default_factory=list, description="NAME=BASE_URL OpenAI-compatible upstreams"
    )
    require_api_key: bool = True
    stream_window_chars: int = Field(
        200, gt=0, description="streamed text held back until this many chars are checked"
    )
    oversight_base_url: str = Field(
        "", description="public base URL for hold status links (default: relative)"
    )
    oversight_escalation_target: str | None = Field(None, description="who is told when a hold nears expiry")
    authorization_key_path: Path | None = Field(
        None, description="Ed25519 key signing tool-call authorisations"
    )
    local_model: bool = Field(True, description="start the bundled SmolLM2 when no upstream is configured")
    log_level: str = "info"

    @field_validator("trusted_keys", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        if isinstance(value, str):
            out = {}
            for item in filter(None, (v.strip() for v in value.split(","))):
                name, sep, path = item.partition("=")
                if not sep:
                    raise ValueError(f"expected NAME=PATH, got {item!r}")
                out[name.strip()] = path.strip()
            return out
        return value

    @field_validator("overlays", "require_signers", "upstreams", mode="before")
    @classmethod
    def _list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'redline.db'}"


_FIELDS = tuple(Settings.model_fields)


def load_settings(
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build settings from a YAML file, ``REDLINE_*`` variables and explicit overrides."""
    env = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    config_file = config_file or env.get("REDLINE_CONFIG")
    if config_file:
        try:
            loaded = yaml.safe_load(Path(config_file).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read config file {config_file}: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {config_file} must be a YAML mapping")
        data.update(loaded)
    for name in _FIELDS:
        value = env.get(f"REDLINE_{name.upper()}")
        if value is not None and value != "":
            data[name] = value
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid settings: {problems}") from None
