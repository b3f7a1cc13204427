"""Wiring the gateway into an app.

``install(app, services)`` is what ``redline.api.create_app`` calls: it reads the
gateway settings from ``services.settings`` (see ``config_from_settings``), uses
``services.enforcer``, ``services.store`` and, when present, ``services.holds``,
and keeps the ``Gateway`` on ``app.state.redline_gateway`` — the app's shutdown
must ``await app.state.redline_gateway.aclose()`` to close upstream pools.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response

from ..errors import RedlineError
from ..metrics import install as install_metrics
from ..metrics import metrics_for
from ..store import Store
from .app import Gateway
from .config import GatewayConfig, build_config
from .enforcement import EnforcerLike, HoldsLike

log = logging.getLogger("redline.gateway")


def config_from_settings(settings: Any) -> GatewayConfig:
    """The gateway config from redline settings.

    Fields read (all optional): ``upstreams_config`` (path of a ``redline.yaml``),
    ``upstreams`` (list of ``NAME=BASE_URL``), ``require_api_key``,
    ``stream_window_chars``, ``max_body_bytes``.
    """
    overrides = {
        name: getattr(settings, name, None)
        for name in ("require_api_key", "stream_window_chars", "max_body_bytes")
    }
    flags = list(getattr(settings, "upstreams", None) or ())
    return build_config(getattr(settings, "upstreams_config", None), flags, **overrides)


def _has_route(app: Any, path: str) -> bool:
    return any(getattr(r, "path", None) == path for r in app.router.routes)


def _add_ops_routes(app: Any, gateway: Gateway, store: Store | None) -> None:
    async def healthz(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    async def readyz(request: Request) -> Response:
        problems: list[str] = []
        if store is not None:
            try:
                await store.ping()
            except RedlineError as exc:
                problems.append(f"store: {exc.code}")
        if not gateway.upstreams:
            problems.append("gateway: no upstream configured")
        body = {"status": "ready" if not problems else "not_ready", "problems": problems}
        return Response(orjson.dumps(body), 200 if not problems else 503, media_type="application/json")

    if not _has_route(app, "/healthz"):
        app.add_route("/healthz", healthz, methods=["GET"], include_in_schema=False)
    if not _has_route(app, "/readyz"):
        app.add_route("/readyz", readyz, methods=["GET"], include_in_schema=False)


async def install(app: Any, services: Any) -> Gateway:
    """Add the gateway's routes to ``app`` using ``services`` (see module docstring).

    When no upstream is configured and ``settings.local_model`` is true (the default),
    the bundled SmolLM2 is started first and every model goes to it. The gateway (and
    the local model) are closed with the services, through ``services._closers``.
    """
    settings = services.settings
    config = config_from_settings(settings)
    closers = getattr(services, "_closers", None)
    if not config.upstreams and getattr(settings, "local_model", False):
        from .local_model import LocalModel

        local = LocalModel()
        await local.start()
        if closers is not None:
            closers.append(local.stop)
        log.info("no upstream configured: serving the bundled local model at %s", local.base_url)
        config = dataclasses.replace(config, upstreams=(local.upstream(),))
    gateway = Gateway(
        config,
        services.enforcer,
        store=getattr(services, "store", None),
        holds=getattr(services, "holds", None),
        metrics=metrics_for(app),
    )
    app.router.routes.extend(gateway.routes())
    _add_ops_routes(app, gateway, getattr(services, "store", None))
    app.state.redline_gateway = gateway
    if closers is not None:
        closers.append(gateway.aclose)
    return gateway


def build_app(
    config: GatewayConfig,
    enforcer: EnforcerLike,
    *,
    store: Store | None = None,
    holds: HoldsLike | None = None,
) -> Starlette:
    """A standalone gateway app (routes, /healthz, /readyz, /metrics); closes its pools on shutdown."""
    app = Starlette()
    gateway = Gateway(config, enforcer, store=store, holds=holds, metrics=metrics_for(app))

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await gateway.aclose()

    app.router.lifespan_context = lifespan
    app.router.routes.extend(gateway.routes())
    _add_ops_routes(app, gateway, store)
    install_metrics(app)
    app.state.redline_gateway = gateway
    return app


__all__ = ["build_app", "config_from_settings", "install"]
