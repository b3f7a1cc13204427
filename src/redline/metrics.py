"""Prometheus metrics for redline, served at ``/metrics``.

Each app gets its own ``Metrics`` (its own ``CollectorRegistry``), found with
``metrics_for(app)``; nothing is registered at import time, so several apps (and
tests) can live in one process. Names:

* ``redline_decisions_total{stage,verdict,category}`` — every decision the gateway asked for
* ``redline_gateway_overhead_seconds{wire,stream}`` — time spent in redline itself
  (request parsing, identity, enforcement, translation): total minus upstream time
* ``redline_upstream_latency_seconds{upstream,stream}`` — upstream time (for streams:
  until the last chunk)
* ``redline_requests_total{wire,status}`` — responses by HTTP status
* ``redline_stream_interruptions_total{reason}`` — streams ended early with an error
  event (``policy_denied``, ``review_required``, ``upstream_error`` …)
* ``redline_provider_usage_dropped_total`` — usage records dropped under back-pressure
"""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from .decision import Decision

_FAST_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_SLOW_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


class Metrics:
    """The metric families of one redline app."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.decisions = Counter(
            "redline_decisions",
            "Decisions by stage, verdict and category",
            ("stage", "verdict", "category"),
            registry=r,
        )
        self.overhead = Histogram(
            "redline_gateway_overhead_seconds",
            "Time a request spends in redline, excluding the upstream",
            ("wire", "stream"),
            buckets=_FAST_BUCKETS,
            registry=r,
        )
        self.upstream = Histogram(
            "redline_upstream_latency_seconds",
            "Upstream time per request (streams: until the last chunk)",
            ("upstream", "stream"),
            buckets=_SLOW_BUCKETS,
            registry=r,
        )
        self.requests = Counter(
            "redline_requests", "Gateway responses by status", ("wire", "status"), registry=r
        )
        self.interruptions = Counter(
            "redline_stream_interruptions", "Streams ended early with an error event", ("reason",), registry=r
        )
        self.usage_dropped = Counter(
            "redline_provider_usage_dropped", "Provider usage records dropped under back-pressure", registry=r
        )

    def observe_decision(self, decision: Decision) -> None:
        self.decisions.labels(decision.stage.value, decision.verdict.value, decision.category).inc()

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))


def metrics_for(app: Any) -> Metrics:
    """The ``Metrics`` of a Starlette/FastAPI app, created on first use (kept on ``app.state``)."""
    found = getattr(app.state, "redline_metrics", None)
    if isinstance(found, Metrics):
        return found
    metrics = Metrics()
    app.state.redline_metrics = metrics
    return metrics


def install(app: Any, services: Any = None) -> Metrics:
    """Add ``GET /metrics`` (Prometheus text format) to ``app``."""
    metrics = metrics_for(app)

    async def endpoint(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    if not any(getattr(r, "path", None) == "/metrics" for r in app.router.routes):
        app.add_route("/metrics", endpoint, methods=["GET"], include_in_schema=False)
    return metrics
