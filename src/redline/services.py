"""Services: the long-lived objects of a running redline, built from settings.

``build_services(settings)`` opens the store, the ledger, loads (and, where the
deployment requires it, verifies the signatures of) the policy, loads the
classifier, and wires them into one ``Enforcer``. Nothing here runs at import.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .classify.base import Classifier, NullClassifier
from .enforce import Enforcer
from .errors import ConfigError
from .policy import CompiledPolicy, compile_documents, default_policy_path, read_file
from .policy.signing import load_public_key, require_signers, signature_path
from .settings import Settings

log = logging.getLogger("redline")


def load_deployment_policy(settings: Settings) -> CompiledPolicy:
    """The policy this deployment runs, refusing it when a required signature is missing or bad."""
    path = settings.policy_path or default_policy_path()
    base = read_file(path)
    overlays = [read_file(o) for o in settings.overlays]
    if settings.require_signers:
        trusted = {name: load_public_key(p) for name, p in settings.trusted_keys.items()}
        require_signers(base, signature_path(path), settings.require_signers, trusted)
        for overlay, overlay_path in zip(overlays, settings.overlays, strict=True):
            require_signers(overlay, signature_path(overlay_path), settings.require_signers, trusted)
    return compile_documents(base, overlays)


def load_classifier(choice: str) -> Classifier:
    """The classifier named by the ``classifier`` setting.

    ``keywords``: the policy's keyword signals only. ``auto``: the trained model
    shipped with redline. Anything else: a directory holding a trained artifact.
    """
    if choice == "keywords":
        return NullClassifier()
    from .classify.trained import TrainedClassifier

    if choice == "auto":
        return TrainedClassifier()
    path = Path(choice)
    if not path.exists():
        raise ConfigError(f"classifier artifact {choice!r} not found (use 'auto', 'keywords' or a path)")
    return TrainedClassifier(path)


async def preload(clf: Classifier) -> None:
    """Load a classifier's models now, off the event loop, so that no request pays for it.

    The trained classifier loads its models on first need (so that ``import redline`` and
    the CLI stay light). A server that left it so made one request after every start wait
    for MiniLM's session, about half a second on one core: the gateway bench's p99 at C=1
    came from that one request. A model that cannot load fails the start, with the
    ``ClassifierError`` that requests would otherwise fail closed on.
    """
    load = getattr(clf, "load", None)
    if not callable(load):
        return
    started = time.perf_counter()
    await asyncio.to_thread(load)
    log.info("classifier %s loaded in %.0f ms", clf.version, (time.perf_counter() - started) * 1000)


@dataclass
class Services:
    """What the HTTP faces share. ``store``, ``ledger`` and ``oversight`` may be None in a bare setup."""

    settings: Settings
    policy: CompiledPolicy
    enforcer: Enforcer
    store: Any = None
    ledger: Any = None
    oversight: Any = None
    extras: dict[str, Any] = field(default_factory=dict)
    _closers: list[Any] = field(default_factory=list)

    @property
    def holds(self) -> Any:
        """The hook the gateway calls for ``review`` decisions."""
        return self.oversight

    def add_closer(self, closer: Any) -> None:
        """Register an async callable to run (last registered first) when the services close."""
        self._closers.append(closer)

    async def aclose(self) -> None:
        for closer in reversed(self._closers):
            await closer()
        self._closers.clear()


async def build_services(settings: Settings, *, classifier: Classifier | None = None) -> Services:
    """Open everything a server needs. Call ``aclose`` when done."""
    policy = load_deployment_policy(settings)
    clf = classifier or load_classifier(settings.classifier)
    await preload(clf)
    enforcer = Enforcer(policy, clf)
    services = Services(settings=settings, policy=policy, enforcer=enforcer)
    try:
        await _attach_store(services)
    except BaseException:
        await services.aclose()
        raise
    return services


def _background(coro: Any, name: str) -> Any:
    """Run ``coro`` as a task; return the closer that cancels it. A task that dies is logged loudly."""
    task = asyncio.create_task(coro, name=f"redline-{name}")

    def _done(t: asyncio.Task[Any]) -> None:
        if not t.cancelled() and t.exception() is not None:
            log.critical("background task %s stopped: %s", name, t.exception())

    task.add_done_callback(_done)

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return stop


async def _attach_store(services: Services) -> None:
    from .counters import StoreCounters
    from .store import open_store

    settings = services.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = await open_store(settings.resolved_database_url())
    services.store = store
    services.add_closer(store.close)
    services.enforcer.counters = StoreCounters(store)
    if settings.record:
        from .ledger.log import Ledger

        ledger = await Ledger.open(store, settings.data_dir, encrypt=settings.ledger_encrypt_content)
        services.ledger = ledger
        services.add_closer(ledger.close)
        services.enforcer.recorder = ledger
        await ledger.record_event("policy_load", {"policy": services.policy.ref.model_dump()})
        if settings.checkpoint_interval_s > 0:
            services.add_closer(
                _background(ledger.checkpoint_every(settings.checkpoint_interval_s), "checkpoints")
            )
    try:
        from .oversight.service import Oversight
    except ImportError:
        return
    services.oversight = Oversight.from_services(services)
