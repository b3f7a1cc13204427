"""Holding streamed output back until it has been checked.

``guarded_chunks`` sits between the upstream's chat-completion chunks and the
client. Chunks are queued; once a choice has accumulated ``window`` unchecked
characters, its new text (with one window of already-released context before
it, so a phrase split across the boundary is still seen whole) is decided, and
only then are queued chunks released — and only those at least one window behind
the newest text, so a phrase of up to ``window`` characters is judged whole before
any part of it is sent. Text is never released unchecked: a
violation raises ``GatewayBlocked`` with the offending chunks still queued, so
they never reach the client. Tool-call deltas are held until the stream ends and
every call is complete, then each call is decided before any of it is sent.

The window trades time-to-first-token for the context the classifier sees;
``window`` is ``stream_window_chars`` in the gateway config.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from ..facts import ToolCall
from .openai_wire import decode_arguments

CheckText = Callable[[str], Awaitable[object]]
CheckCalls = Callable[[Sequence[ToolCall]], Awaitable[object]]


class _Choice:
    __slots__ = ("calls", "released", "text")

    def __init__(self) -> None:
        self.text: list[str] = []
        self.released = 0  # characters of text already checked and released
        self.calls: dict[int, dict[str, str]] = {}

    def full(self) -> str:
        if len(self.text) > 1:
            self.text = ["".join(self.text)]
        return self.text[0] if self.text else ""


async def guarded_chunks(
    chunks: AsyncIterator[dict[str, Any]],
    *,
    window: int,
    check_text: CheckText,
    check_calls: CheckCalls,
) -> AsyncIterator[dict[str, Any]]:
    """Yield the upstream's chunks in order, each only after everything in it was allowed."""
    pending: list[tuple[dict[str, Any], int]] = []  # (chunk, text position after it)
    choices: dict[int, _Choice] = {}
    seen = 0  # characters of content received, all choices together
    checked = 0  # ... of which every one has been checked
    holding_tools = False

    async def check_new_text() -> None:
        nonlocal checked
        for ch in choices.values():
            full = ch.full()
            if len(full) > ch.released:
                await check_text(full[max(0, ch.released - window) :])
                ch.released = len(full)
        checked = seen

    async for chunk in chunks:
        for c in chunk.get("choices") or []:
            ch = choices.setdefault(int(c.get("index", 0)), _Choice())
            delta = c.get("delta") or {}
            content = delta.get("content")
            if isinstance(content, str) and content:
                ch.text.append(content)
                seen += len(content)
            for call in delta.get("tool_calls") or []:
                holding_tools = True
                slot = ch.calls.setdefault(int(call.get("index", 0)), {"id": "", "name": "", "arguments": ""})
                fn = call.get("function") or {}
                slot["id"] = slot["id"] or str(call.get("id") or "")
                slot["name"] += str(fn.get("name") or "")
                slot["arguments"] += str(fn.get("arguments") or "")
        pending.append((chunk, seen))
        if holding_tools:
            continue
        if seen - checked >= window:
            await check_new_text()
        # Release what is checked AND at least one window behind the newest text, so a
        # phrase of up to ``window`` characters is judged whole before any of it is sent.
        cut = 0
        # (A chunk before any text, such as the role header, needs no check.)
        while cut < len(pending) and (pending[cut][1] == 0 or pending[cut][1] <= checked - window):
            cut += 1
        for p, _ in pending[:cut]:
            yield p
        del pending[:cut]
    await check_new_text()
    calls = [
        ToolCall(id=s["id"], name=s["name"], arguments=decode_arguments(s["arguments"]))
        for ch in choices.values()
        for _, s in sorted(ch.calls.items())
    ]
    if calls:
        await check_calls(calls)
    for p, _ in pending:
        yield p
