"""The HTTP application: ``create_app(settings)``.

This module serves the decision API (``POST /v1/check``) and ``/healthz``, and
lets each face install its own routes (gateway, oversight, web UI, metrics) on
the same app. Errors are JSON with a stable code:
``{"error": {"code": "...", "message": "...", ...}}``.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from .decision import Decision
from .errors import AuthError, BodyTooLargeError, InputError, RedlineError
from .facts import Attributes, Facts, Message, Principal, Stage, Target, ToolCall, ToolSpec
from .gateway.headers import api_key_from, request_attributes
from .gateway.keys import KeyResolver
from .services import Services, build_services
from .settings import Settings

log = logging.getLogger("redline.api")

FACES = ("redline.gateway", "redline.oversight", "redline.web", "redline.metrics")


class CheckRequest(BaseModel):
    """A request to ``POST /v1/check``: give ``text`` or ``messages`` (or, for later stages, ``output``/``tool_calls``)."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, description="a single user message")
    messages: list[Message] = Field(default_factory=list)
    stage: Stage = Stage.INPUT
    attributes: dict[str, Any] = Field(default_factory=dict)
    principal: Principal = Field(default_factory=Principal)
    tools: list[ToolSpec] = Field(default_factory=list)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    output: str | None = None
    target: Target = Field(default_factory=Target)

    @model_validator(mode="after")
    def _something_to_judge(self) -> CheckRequest:
        if self.text is None and not self.messages and self.output is None and not self.tool_calls:
            raise ValueError("give text, messages, output or tool_calls")
        return self

    def to_facts(self) -> Facts:
        messages = list(self.messages)
        if self.text is not None:
            messages.append(Message(role="user", content=self.text))
        stage = self.stage
        if self.tool_calls and stage is Stage.INPUT and not messages:
            stage = Stage.TOOL_CALL
        elif self.output is not None and stage is Stage.INPUT and not messages:
            stage = Stage.OUTPUT
        return Facts(
            stage=stage,
            principal=self.principal,
            attributes=Attributes.from_mapping(self.attributes),
            messages=tuple(messages),
            tools=tuple(self.tools),
            tool_calls=tuple(self.tool_calls),
            output=self.output,
            target=self.target,
        )


def error_response(exc: RedlineError) -> JSONResponse:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return JSONResponse({"error": exc.as_dict()}, status_code=exc.status, headers=headers)


class BodyLimit:
    """Refuse bodies over ``max_bytes`` on ``paths`` before anything parses them (413 ``body_too_large``)."""

    def __init__(self, app: Any, max_bytes: int, paths: tuple[str, ...]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.paths = paths

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        too_large = error_response(
            BodyTooLargeError(f"request body is over the limit of {self.max_bytes} bytes")
        )
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await too_large(scope, receive, send)
                return
        seen = 0
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await too_large(scope, receive, send)
                return
            body.extend(chunk)
            if not message.get("more_body"):
                break
        delivered = False

        async def replay() -> Any:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def create_app(settings: Settings, *, services: Services | None = None) -> FastAPI:
    """Build the app. Services are built on startup unless given (tests may pass their own)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = services is None
        svc = services or await build_services(settings)
        app.state.services = svc
        app.state.loop = asyncio.get_running_loop()
        app.state.key_resolver = KeyResolver(svc.store)
        for name in FACES:
            installer = _installer(name)
            if installer is not None:
                await _maybe_await(installer(app, svc))
        try:
            yield
        finally:
            if own:
                await svc.aclose()

    app = FastAPI(
        title="redline",
        version="0.1.0",
        summary="Enforceable, verifiable usage terms for AI models",
        lifespan=lifespan,
    )

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, paths=("/v1/check",))

    @app.exception_handler(RedlineError)
    async def _redline_error(request: Request, exc: RedlineError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"loc": [str(p) for p in e.get("loc", ())], "message": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        first = problems[0]["message"] if problems else "invalid request"
        return error_response(InputError(f"invalid request: {first}", problems=problems))

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process is serving."""
        return {"status": "ok"}

    @app.post("/v1/check", response_model=Decision, tags=["decisions"])
    async def check(request: Request, body: CheckRequest) -> Decision:
        """Decide a request, an output or a tool call against the deployment's policy.

        With an API key (``Authorization: Bearer rl-…``) the principal and the
        key's fixed attributes come from the key and override the body; headers
        ``X-Redline-*`` add attributes the key does not fix. Without a key the body's
        principal is used, only when the deployment sets ``require_api_key: false``.
        The decision is recorded in the ledger before it is returned. A store or
        ledger failure is a 503 ``ledger_unavailable`` with Retry-After, never an allow.
        """
        svc: Services = request.app.state.services
        facts = body.to_facts()
        key = api_key_from(request.headers)
        if key is not None:
            identity = await request.app.state.key_resolver.resolve(key)
            declared = facts.attributes.merged(request_attributes(request.headers))
            facts = facts.model_copy(
                update={"principal": identity.principal, "attributes": declared.merged(identity.fixed)}
            )
        elif settings.require_api_key:
            raise AuthError(
                "missing API key: send 'Authorization: Bearer rl-…' (issue one with `redline keys issue`)"
            )
        return await svc.enforcer.decide(facts)

    return app


def _installer(module: str) -> Any:
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        log.debug("face %s not installed: %s", module, exc)
        return None
    return getattr(mod, "install", None)


async def _maybe_await(value: Any) -> None:
    if hasattr(value, "__await__"):
        await value
