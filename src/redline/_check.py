"""``redline.check``: the library face of the pipeline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from .classify.base import Classifier
from .decision import Decision
from .enforce import Enforcer
from .facts import Attributes, Facts, Message, Principal, Stage
from .policy import CompiledPolicy, load_policy


def _facts(
    text_or_messages: str | Sequence[Mapping[str, str] | Message],
    attributes: Mapping[str, Any] | None,
    principal: Principal | None,
    stage: Stage,
) -> Facts:
    if isinstance(text_or_messages, str):
        messages: tuple[Message, ...] = (Message(role="user", content=text_or_messages),)
    else:
        messages = tuple(m if isinstance(m, Message) else Message(**m) for m in text_or_messages)
    return Facts(
        stage=stage,
        messages=messages,
        attributes=Attributes.from_mapping(dict(attributes or {})),
        principal=principal or Principal(),
    )


class Checker:
    """A reusable checker: one policy and one classifier, loaded once.

    ``Checker()`` uses the shipped default policy and the trained classifier
    (loaded lazily, on the first check). Counters are kept in memory and no
    ledger is written; use ``redline serve`` or ``redline check --record`` for that.
    """

    def __init__(
        self, policy: CompiledPolicy | str | Path | None = None, classifier: Classifier | str = "auto"
    ) -> None:
        from .policy import default_policy
        from .services import load_classifier

        if policy is None:
            compiled = default_policy()
        elif isinstance(policy, CompiledPolicy):
            compiled = policy
        else:
            compiled = load_policy(policy)
        clf = load_classifier(classifier) if isinstance(classifier, str) else classifier
        self.enforcer = Enforcer(compiled, clf, classify_in_thread=False)

    def check(
        self,
        text_or_messages: str | Sequence[Mapping[str, str] | Message],
        *,
        attributes: Mapping[str, Any] | None = None,
        principal: Principal | None = None,
        stage: Stage = Stage.INPUT,
    ) -> Decision:
        """Decide one text or conversation."""
        return self.enforcer.decide_sync(_facts(text_or_messages, attributes, principal, stage))


@lru_cache(maxsize=1)
def _default_checker() -> Checker:
    return Checker()


def check(
    text_or_messages: str | Sequence[Mapping[str, str] | Message],
    attributes: Mapping[str, Any] | None = None,
    policy: CompiledPolicy | str | Path | None = None,
    *,
    principal: Principal | None = None,
    stage: Stage = Stage.INPUT,
) -> Decision:
    """Decide ``text_or_messages`` against ``policy`` (default: the shipped policy).

    >>> redline.check("What is the capital of France?").verdict
    <Verdict.ALLOW: 'allow'>
    """
    checker = _default_checker() if policy is None else Checker(policy)
    return checker.check(text_or_messages, attributes=attributes, principal=principal, stage=stage)
