"""A server loads its classifier's models at start, not on the first request that needs them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from redline.classify.base import NullClassifier, Scores
from redline.errors import ClassifierError
from redline.facts import Facts
from redline.services import build_services
from redline.settings import Settings, load_settings


class Lazy:
    """A classifier that, like the trained one, loads on first need unless ``load`` is called."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.loaded_in: list[str] = []
        self._null = NullClassifier()

    @property
    def version(self) -> str:
        return "lazy-1"

    def load(self) -> None:
        if self.fail:
            raise ClassifierError("the model package is not installed")
        self.loaded_in.append(threading.current_thread().name)

    def classify(self, facts: Facts) -> Scores:
        return self._null.classify(facts)

    def classify_many(self, batch: Sequence[Facts]) -> list[Scores]:
        return self._null.classify_many(batch)


def _settings(tmp_path: Path) -> Settings:
    return load_settings(environ={}, data_dir=tmp_path, classifier="keywords", require_api_key=False)


def test_build_services_loads_the_classifier_once_off_the_event_loop(tmp_path: Path) -> None:
    clf = Lazy()

    async def main() -> None:
        services = await build_services(_settings(tmp_path), classifier=clf)
        try:
            assert services.enforcer.classifier is clf
        finally:
            await services.aclose()

    asyncio.run(main())
    assert len(clf.loaded_in) == 1
    assert clf.loaded_in[0] != threading.main_thread().name


def test_a_classifier_that_cannot_load_fails_the_start(tmp_path: Path) -> None:
    async def main() -> None:
        await build_services(_settings(tmp_path), classifier=Lazy(fail=True))

    with pytest.raises(ClassifierError, match="not installed"):
        asyncio.run(main())
