"""The gateway: OpenAI- and Anthropic-compatible enforcement proxy.

``install(app, services)`` adds ``POST /v1/chat/completions``, ``POST /v1/messages``,
``GET /v1/models`` and ``GET /readyz`` to an app built by ``redline.api.create_app``.
``build_app(...)`` builds a standalone gateway app (tests, benchmarks).
"""

from __future__ import annotations

from .app import Gateway
from .config import GatewayConfig, UpstreamConfig, build_config, load_config, parse_upstream_flag
from .server import build_app, config_from_settings, install

__all__ = [
    "Gateway",
    "GatewayConfig",
    "UpstreamConfig",
    "build_app",
    "build_config",
    "config_from_settings",
    "install",
    "load_config",
    "parse_upstream_flag",
]
