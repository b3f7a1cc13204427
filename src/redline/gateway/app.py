"""The gateway's request handlers: identity → input decision → upstream → output decisions.

Order on every request, both wires, streamed or not:

1. read the body under ``max_body_bytes`` (413 ``body_too_large``), parse JSON
   (400 ``invalid_request``), validate the wire's required fields;
2. identify the caller from ``Authorization: Bearer rl-…`` or ``x-api-key``;
   merge header attributes under the key's fixed attributes;
3. decide the input; anything but ``allow`` answers 403 and **nothing is sent
   upstream**; a provider directive's ``route`` switches model/upstream;
4. send the request once (no retries) to the upstream serving the model;
5. decide each choice's text and each tool call before any of it is returned;
   streamed output passes through ``guarded_chunks`` (see ``stream.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from ..decision import Decision, Verdict
from ..errors import AuthError, BodyTooLargeError, InputError, NotFoundError, RedlineError
from ..facts import Attributes, Facts, Principal, Stage, Target, ToolCall
from ..metrics import Metrics
from ..store import Store
from .config import GatewayConfig
from .enforcement import EnforcerLike, Guard, HoldsLike
from .failures import Failure, GatewayBlocked, failure_from_error
from .headers import api_key_from, request_attributes
from .keys import Identity, KeyResolver
from .openai_wire import ChatRequest, completion_outputs
from .stream import guarded_chunks
from .upstream import Upstream
from .usage import UsageRecorder
from .wires import AnthropicWire, OpenAIWire, Wire, upstream_failure

log = logging.getLogger("redline.gateway")

_ANONYMOUS = Identity(principal=Principal(), fixed=Attributes())


class Gateway:
    """Owns the upstream clients and serves both wires. Close with ``aclose``."""

    def __init__(
        self,
        config: GatewayConfig,
        enforcer: EnforcerLike,
        *,
        store: Store | None = None,
        holds: HoldsLike | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        self.metrics = metrics or Metrics()
        self.guard = Guard(enforcer, holds, self.metrics)
        self.keys = KeyResolver(store)
        self.usage = UsageRecorder(store, on_drop=self.metrics.usage_dropped.inc)
        self.upstreams = {u.name: Upstream(u) for u in config.upstreams}
        self._openai = OpenAIWire()
        self._anthropic = AnthropicWire()

    def routes(self) -> list[Route]:
        return [
            Route("/v1/chat/completions", self.chat_completions, methods=["POST"]),
            Route("/v1/messages", self.messages, methods=["POST"]),
            Route("/v1/models", self.models, methods=["GET"]),
        ]

    async def aclose(self) -> None:
        await self.usage.aclose()
        for u in self.upstreams.values():
            await u.aclose()

    # ---- endpoints -----------------------------------------------------------------

    async def chat_completions(self, request: Request) -> Response:
        return await self._handle(request, self._openai)

    async def messages(self, request: Request) -> Response:
        return await self._handle(request, self._anthropic)

    async def models(self, request: Request) -> Response:
        anthropic = "anthropic-version" in request.headers
        wire: Wire = self._anthropic if anthropic else self._openai
        try:
            await self._identify(request)
        except RedlineError as exc:
            return wire.error(failure_from_error(exc))
        names = [
            (m, u.vendor) for u in self.config.upstreams for m in u.models if not any(c in m for c in "*?[")
        ]
        if anthropic:
            data = [
                {"type": "model", "id": m, "display_name": m, "created_at": "1970-01-01T00:00:00Z"}
                for m, _ in names
            ]
            body: dict[str, Any] = {
                "data": data,
                "has_more": False,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            }
        else:
            body = {
                "object": "list",
                "data": [{"id": m, "object": "model", "created": 0, "owned_by": v} for m, v in names],
            }
        return Response(orjson.dumps(body), media_type="application/json")

    # ---- the pipeline ----------------------------------------------------------------

    async def _read_body(self, request: Request) -> bytes:
        limit = self.config.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise BodyTooLargeError(f"request body exceeds the {limit}-byte limit", limit=limit)
        parts: list[bytes] = []
        size = 0
        try:
            async for part in request.stream():
                size += len(part)
                if size > limit:
                    raise BodyTooLargeError(f"request body exceeds the {limit}-byte limit", limit=limit)
                parts.append(part)
        except ClientDisconnect as exc:
            raise InputError("client disconnected while sending the body") from exc
        return b"".join(parts)

    async def _identify(self, request: Request) -> Identity:
        key = api_key_from(request.headers)
        if key is None or (not self.config.require_api_key and not key.startswith("rl-")):
            if self.config.require_api_key:
                raise AuthError("an API key is required: pass a redline key (rl-…) as the SDK's api_key")
            return _ANONYMOUS
        return await self.keys.resolve(key)

    def _upstream(self, model: str, vendor: str | None = None) -> Upstream:
        cfg = self.config.resolve(model, vendor)
        if cfg is None:
            which = f"{model!r}" + (f" from vendor {vendor!r}" if vendor else "")
            raise NotFoundError(f"no upstream serves model {which}", code="model_not_found", model=model)
        return self.upstreams[cfg.name]

    async def _handle(self, request: Request, wire: Wire) -> Response:
        t0 = time.perf_counter()
        upstream_s = 0.0
        decision_ids: list[str] = []
        log_extra: dict[str, Any] = {"wire": wire.name}
        status = 200
        stream = False
        try:
            body = await self._read_body(request)
            ident = await self._identify(request)
            try:
                payload = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise InputError(f"request body is not valid JSON: {exc}") from exc
            req = wire.parse(payload)
            stream = req.stream
            upstream = self._upstream(req.model)
            facts = Facts(
                stage=Stage.INPUT,
                principal=ident.principal,
                attributes=request_attributes(request.headers).merged(ident.fixed),
                messages=req.messages,
                tools=req.tools,
                target=Target(model=req.model, vendor=upstream.config.vendor),
                now=time.time(),
            )
            log_extra.update(tenant=ident.principal.tenant, app=ident.principal.app, model=req.model)
            context = {"wire": wire.name, "request": req.body}
            decision = await self.guard.decide(facts)
            decision_ids.append(decision.id)
            if decision.verdict is Verdict.DENY:
                raise GatewayBlocked(decision)
            send = req.body
            if decision.route is not None:
                upstream = self._upstream(decision.route.model, decision.route.vendor)
                send = {**send, "model": decision.route.model}
                facts = facts.model_copy(
                    update={"target": Target(model=decision.route.model, vendor=upstream.config.vendor)}
                )
                log_extra["routed_to"] = decision.route.model
            log_extra["upstream"] = upstream.config.name
            p = facts.principal
            self.usage.record(p.tenant, p.app, upstream.config.vendor, str(send["model"]), facts.now)
            if decision.verdict is Verdict.REVIEW:
                await self._hold_answer(wire, req, upstream, send, facts, decision, decision_ids)
            if req.stream:
                return await self._stream(wire, req, upstream, send, facts, decision, t0, log_extra, context)
            reply = await upstream.complete(send)
            upstream_s = reply.seconds
            if reply.status >= 400 or not isinstance(reply.data, dict):
                failure = upstream_failure(reply, upstream.config.name)
                status = failure.status
                return wire.error(failure)
            for out in completion_outputs(reply.data):
                if out.text:
                    decision_ids.append((await self.guard.check_output(facts, out.text, **context)).id)
                calls = await self.guard.check_tool_calls(facts, out.tool_calls, **context)
                decision_ids.extend(d.id for d in calls)
            headers = {"x-redline-decision-id": decision.id}
            return Response(wire.render(reply, req.model), 200, headers, media_type="application/json")
        except RedlineError as exc:
            failure = failure_from_error(exc)
            status = failure.status
            if failure.extras.get("decision_id"):
                decision_ids.append(str(failure.extras["decision_id"]))
            log_extra["code"] = failure.code
            return wire.error(failure)
        finally:
            if not (stream and status == 200):
                total = time.perf_counter() - t0
                self._observe(wire, False, total, upstream_s, log_extra, status, decision_ids)

    async def _hold_answer(
        self,
        wire: Wire,
        req: ChatRequest,
        upstream: Upstream,
        send: dict[str, Any],
        facts: Facts,
        decision: Decision,
        decision_ids: list[str],
    ) -> None:
        """Answer a reviewed request now, check the answer, and hold it; always raises.

        The model's answer is generated (never streamed) before anyone approves, so
        reviewers see exactly the output that approval releases; the client gets
        ``review_required`` with the hold's id and status URL. The answer and any
        tool calls in it are decided too: a deny ends the request, a review is
        folded into the hold (the stricter approvals apply).
        """
        send = {k: v for k, v in send.items() if k not in ("stream", "stream_options")}
        reply = await upstream.complete(send)
        if reply.status >= 400 or not isinstance(reply.data, dict):
            raise _Answered(upstream_failure(reply, upstream.config.name))
        outputs = completion_outputs(reply.data)
        text = "\n\n".join(o.text for o in outputs if o.text)
        held = facts.model_copy(update={"stage": Stage.OUTPUT, "output": text})
        checks = [held] + [
            facts.model_copy(update={"stage": Stage.TOOL_CALL, "tool_calls": (c,)})
            for o in outputs
            for c in o.tool_calls
        ]
        strictest = decision
        for f in checks:
            d = await self.guard.decide(f)
            decision_ids.append(d.id)
            if d.verdict is Verdict.DENY:
                raise GatewayBlocked(d)
            if (
                d.verdict is Verdict.REVIEW
                and d.approvals
                and strictest.approvals
                and d.approvals.count > strictest.approvals.count
            ):
                strictest = strictest.model_copy(update={"approvals": d.approvals})
        response = orjson.loads(wire.render(reply, req.model))
        hold = await self.guard.hold(
            held, strictest, request=send, wire=wire.name, payload={"response": response}
        )
        raise GatewayBlocked(decision, hold)

    def _observe(
        self,
        wire: Wire,
        stream: bool,
        total: float,
        upstream_s: float,
        extra: dict[str, Any],
        status: int,
        decision_ids: Sequence[str],
    ) -> None:
        m = self.metrics
        s = "true" if stream else "false"
        m.requests.labels(wire.name, str(status)).inc()
        if upstream_s:
            m.upstream.labels(str(extra.get("upstream", "")), s).observe(upstream_s)
            m.overhead.labels(wire.name, s).observe(max(0.0, total - upstream_s))
        if log.isEnabledFor(logging.INFO):
            log.info(
                "request",
                extra={
                    "redline": {
                        **extra,
                        "status": status,
                        "stream": stream,
                        "decision_ids": [d for d in decision_ids if d],
                        "total_ms": round(total * 1000, 3),
                        "upstream_ms": round(upstream_s * 1000, 3),
                    }
                },
            )

    async def _stream(
        self,
        wire: Wire,
        req: ChatRequest,
        upstream: Upstream,
        send: dict[str, Any],
        facts: Facts,
        decision: Decision,
        t0: float,
        log_extra: dict[str, Any],
        context: dict[str, Any],
    ) -> Response:
        ustream = await upstream.open_stream(send)
        if ustream.status >= 400:
            reply = await ustream.error_reply()
            raise _Answered(upstream_failure(reply, upstream.config.name))
        decision_ids = [decision.id]
        checks_s = 0.0
        opened_s = time.perf_counter() - t0

        async def check_text(text: str) -> None:
            nonlocal checks_s
            c0 = time.perf_counter()
            try:
                decision_ids.append((await self.guard.check_output(facts, text, **context)).id)
            finally:
                checks_s += time.perf_counter() - c0

        async def check_calls(calls: Sequence[ToolCall]) -> None:
            nonlocal checks_s
            c0 = time.perf_counter()
            try:
                decision_ids.extend(d.id for d in await self.guard.check_tool_calls(facts, calls, **context))
            finally:
                checks_s += time.perf_counter() - c0

        async def body() -> AsyncIterator[bytes]:
            writer = wire.writer(req.model)
            status = 200
            u_end = 0.0
            try:
                async for chunk in guarded_chunks(
                    ustream.chunks(),
                    window=self.config.stream_window_chars,
                    check_text=check_text,
                    check_calls=check_calls,
                ):
                    out = writer.feed(chunk)
                    if out:
                        yield out
                u_end = time.perf_counter()
                yield writer.finish()
            except RedlineError as exc:
                failure = failure_from_error(exc)
                if failure.extras.get("decision_id"):
                    decision_ids.append(str(failure.extras["decision_id"]))
                self.metrics.interruptions.labels(failure.code).inc()
                log_extra["code"] = failure.code
                status = failure.status
                yield wire.stream_error(failure)
            finally:
                ustream.close()
                upstream_s = (u_end or time.perf_counter()) - ustream.t0
                # A stream's overhead: what redline spent before the upstream was called and
                # after its headers came back, plus the time spent checking output.
                overhead = max(0.0, opened_s - ustream.headers_s) + checks_s
                self._observe(wire, True, overhead + upstream_s, upstream_s, log_extra, status, decision_ids)

        headers = {"x-redline-decision-id": decision.id, "cache-control": "no-cache"}
        return StreamingResponse(body(), media_type="text/event-stream", headers=headers)


class _Answered(RedlineError):
    """The upstream answered with an error before the stream began; render ``failure``."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message, code=failure.code)
        self.status = failure.status
        self.details = dict(failure.extras)
