"""Counters: distinct subjects per principal in a sliding window.

The policy never reads a counter itself; the pipeline looks counters up before
evaluation (``CompiledPolicy.counter_queries``) and passes their values in. The
in-memory store here serves one process; ``StoreCounters`` keeps counts in the
shared database so several replicas see the same numbers.
"""

from __future__ import annotations

from typing import Any, Protocol


class CounterStore(Protocol):
    async def distinct(self, counter: str, principal_key: str, subject: str, since: float) -> int:
        """Distinct subjects seen since ``since``, counting ``subject`` even if it is new."""
        ...

    async def observe(self, counter: str, principal_key: str, subject: str, at: float) -> None:
        """Record that ``subject`` was seen at ``at``."""
        ...


class MemoryCounters:
    """A process-local counter store (last-seen time per subject)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], dict[str, float]] = {}

    async def distinct(self, counter: str, principal_key: str, subject: str, since: float) -> int:
        seen = self._seen.get((counter, principal_key), {})
        live = {s for s, at in seen.items() if at >= since}
        live.add(subject)
        return len(live)

    async def observe(self, counter: str, principal_key: str, subject: str, at: float) -> None:
        # No await between read and write: atomic on the event loop without a lock.
        seen = self._seen.setdefault((counter, principal_key), {})
        seen[subject] = max(at, seen.get(subject, at))


class StoreCounters:
    """Counters kept in redline's store, shared by every replica on one database."""

    def __init__(self, store: Any) -> None:
        self._store = store

    async def distinct(self, counter: str, principal_key: str, subject: str, since: float) -> int:
        return int(await self._store.distinct_subjects(counter, principal_key, since, including=subject))

    async def observe(self, counter: str, principal_key: str, subject: str, at: float) -> None:
        await self._store.observe_subject(counter, principal_key, subject, at)
