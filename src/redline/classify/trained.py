"""``TrainedClassifier``: the use classifier behind the ``Classifier`` protocol.

It reads facts as (latest text, conversation) — see ``features`` — embeds them
with all-MiniLM-L6-v2 (``embed``), adds hashed character and word n-grams, and
applies the trained head from the artifact (``artifact``), with the temperature
fitted at training time, to give calibrated per-category probabilities.

What callers may rely on:

* Constructing a ``TrainedClassifier`` does no I/O. The artifact, tokenizer and
  ONNX session load on first use (or on :meth:`TrainedClassifier.load`), once.
* ``version`` is ``use-clf-<sha256[:12]>`` of the artifact file; reading it
  loads the artifact (not the embedding model).
* ``classify`` / ``classify_many`` return :class:`Scores` with a probability for
  every category (they sum to 1; temperature-calibrated separately for English
  and for other languages), the detected language, and ``uncertain`` set
  when the top probability is below the artifact's confidence floor (a higher
  floor for non-English text, which the English embedding model reads less
  well), when the language is not one the model was trained on, or when the
  text is too short or too symbol-heavy to read.
* Any failure to load or run the model raises ``ClassifierError``; the
  enforcement pipeline turns that into its fail-closed signal.
* Instances are safe to share between threads.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..facts import Facts, Stage
from ..policy.compiled import CONTEXT_RED_LINE, CONTEXT_RISK, WINDOW_RISK
from .artifact import FILENAME, Artifact, default_path, load
from .base import CATEGORIES, RED_LINES, REVIEW_CATEGORIES, Scores
from .embed import DIM, Embedder
from .features import CONTEXT_TURNS, FeatureConfig, Reading, hashed_features, normalizer, read_facts, readable
from .head import logits_one, softmax
from .langid import UNKNOWN, identify
from .screen import Screen, eligible
from .static import INFO, StaticEmbedder, recorded_sha256
from .static import default_dir as static_dir

F32 = npt.NDArray[np.float32]
I32 = npt.NDArray[np.int32]
F64 = npt.NDArray[np.float64]


def screen_reading(facts: Facts) -> Reading | None:
    """What the screen may judge for these facts, or None when only the full model may.

    An input is screened as read (the screen itself refuses one with earlier turns).
    An output or a tool call answering a single user turn is screened on its own text:
    the turn before it was decided already (a red line there never reaches this
    stage), and nothing earlier can hide a red line that only the context shows.
    Longer conversations always go to the full model.
    """
    if facts.stage is Stage.INPUT:
        return read_facts(facts)
    turns = [m for m in facts.messages if m.role != "system"]
    if len(turns) > 1:
        return None
    return Reading(read_facts(facts).latest, "")


def embed_readings(
    embedder: Embedder, readings: Sequence[Reading], norm: Callable[[str], str] | None = None
) -> F32:
    """Dense features ``(n, 2 · embedder.dim)``: latest-text and conversation embeddings.

    Texts are embedded after ``norm`` (the artifact's normaliser: leetspeak,
    homoglyphs and invisible characters would otherwise reach the English
    tokenizer as noise). Conversations equal to their latest text (no context)
    are not embedded twice.
    """
    fold = norm or (lambda text: text)
    latest = embedder.embed([fold(r.latest) for r in readings])
    conv = latest.copy()
    with_ctx = [i for i, r in enumerate(readings) if r.context]
    if with_ctx:
        conv[with_ctx] = embedder.embed([fold(readings[i].conversation) for i in with_ctx], keep_end=True)
    return np.hstack([latest, conv])


#: Readings prepared per step when a batch is pipelined over two cores (``_classify``).
CHUNK = 8

#: Texts longer than this are also read in overlapping windows (see ``windows``).
WINDOW_WORDS = 48
WINDOW_STRIDE = 32
#: The same for text without spaces (Chinese), in characters.
WINDOW_CHARS = 160
WINDOW_CHAR_STRIDE = 120


def windows(text: str) -> list[str]:
    """Overlapping windows of a long text, covering all of it; ``[]`` when it is short.

    The embedding model reads 256 word pieces at most, and a long text's n-grams
    are diluted by its length, so a red line buried in a page of other text
    would otherwise go unseen. Each window is judged as well as the whole text.
    """
    words = text.split()
    if len(words) > 2 * WINDOW_WORDS:
        starts = [*range(0, len(words) - WINDOW_WORDS, WINDOW_STRIDE), len(words) - WINDOW_WORDS]
        return [" ".join(words[i : i + WINDOW_WORDS]) for i in starts]
    if len(words) <= WINDOW_WORDS // 4 and len(text) > 2 * WINDOW_CHARS:
        starts = [*range(0, len(text) - WINDOW_CHARS, WINDOW_CHAR_STRIDE), len(text) - WINDOW_CHARS]
        return [text[i : i + WINDOW_CHARS] for i in starts]
    return []


def earlier_user_turns(facts: Facts, turns: int = CONTEXT_TURNS) -> list[str]:
    """The user turns among the ``turns`` messages before an input's latest user turn.

    The same window :func:`read_facts` gives the conversation reading. Empty for
    outputs and tool calls: their conversation's input was judged already.
    """
    if facts.stage is not Stage.INPUT:
        return []
    return [m.content for m in facts.context_messages(turns) if m.role == "user" and m.content.strip()]


def flagged(scores: Scores) -> bool:
    """Whether a reading's top category is a red line or a review category."""
    return scores.top()[0] in RED_LINES + REVIEW_CATEGORIES


class TrainedClassifier:
    """Calibrated use classifier: a static-vector + n-gram screen, then MiniLM + n-grams + a head."""

    def __init__(self, artifact_path: Path | None = None, *, threads: int | None = None) -> None:
        path = Path(artifact_path) if artifact_path is not None else default_path()
        # A directory means the artifact file inside it (what ``redline train --out`` writes).
        self.artifact_path = path / FILENAME if path.is_dir() else path
        self.embedder = Embedder(threads=threads)
        # The static table of the screen: beside the artifact when one is there, else the package's.
        here = self.artifact_path.parent
        self.static = StaticEmbedder(here if (here / INFO).exists() else static_dir())
        self._lock = threading.Lock()
        self._artifact: Artifact | None = None
        self._norm: Callable[[str], str] | None = None
        self._config: FeatureConfig | None = None
        self._screen: Screen | None = None
        self._blender: Screen | None = None
        self._blend = 0.0

    # -- loading -------------------------------------------------------------------
    def _load_artifact(self) -> Artifact:
        if self._artifact is None:
            with self._lock:
                if self._artifact is None:
                    artifact = load(self.artifact_path)
                    # One text is normalised for the n-grams and again for the embeddings;
                    # a small cache makes the second time free (small: texts may be large).
                    self._norm = functools.lru_cache(maxsize=64)(
                        normalizer(str(artifact.meta["features"]["normalizer"]))
                    )
                    self._config = FeatureConfig.from_dict(artifact.meta["features"])
                    # The full model's logits are blended with the screen's (``train`` chose the
                    # weight out of fold), whether or not the screen may answer on its own;
                    # artifacts from before the blend have none.
                    self._blender = Screen.of(artifact.meta, artifact.arrays, switched_off=True)
                    enabled = self._blender is not None and artifact.meta["screen"].get("enabled")
                    self._screen = self._blender if enabled else None
                    blend = artifact.meta.get("blend") or {}
                    self._blend = float(blend.get("screen", 0.0)) if self._blender is not None else 0.0
                    # The head was trained on one way of running MiniLM; run it the same way.
                    embedding = artifact.meta["embedding"]
                    self.embedder.activations = str(embedding.get("activations", "float32"))
                    self.embedder.layers = tuple(int(k) for k in embedding.get("layers", [6]))
                    self.embedder.optimization = str(embedding.get("optimization", "extended"))
                    if self._screen is not None or self._blend:
                        self._check_static(artifact)
                    self._artifact = artifact
        return self._artifact

    def _check_static(self, artifact: Artifact) -> None:
        from ..errors import ClassifierError

        want = artifact.meta["screen"].get("static_sha256")
        if want != recorded_sha256(self.static.directory):
            raise ClassifierError(
                f"the classifier artifact was trained with another static embedding table ({want}); "
                "rebuild it with `redline train`"
            )

    def load(self) -> None:
        """Load the artifact and both embedding models now rather than on first use."""
        self._load_artifact()
        if self._screen is not None or self._blend:
            self.static.load()
        self.embedder.load()

    @property
    def version(self) -> str:
        return self._load_artifact().version

    # -- classification ------------------------------------------------------------
    def classify(self, facts: Facts) -> Scores:
        return self.classify_many([facts])[0]

    def classify_many(self, batch: Sequence[Facts]) -> list[Scores]:
        """Scores for facts; an input whose earlier user turns read as flagged carries ``context_risk``.

        A conversation can state a red line in one turn and then ask for it with a
        harmless one ("do the second one", "for the whole list"). Read with its
        context, the harmless turn often still looks allowed. So when an input's
        latest turn reads as allowed, its earlier user turns (those in the context
        window) are read on their own too, and if one of them reads as a red line or
        a review category the answer carries ``context_risk`` (the default policy
        sends it to review), and when one reads as a red line also ``context_red_line``
        (for a policy that holds only those). A turn read alone may have been refused, or the
        conversation may have moved on, so the signal is too weak to deny on, and
        too strong to allow silently. Only inputs with earlier user turns pay for it.
        """
        # An output answering a single user turn is read on its own text by both stages,
        # for the reason ``screen_reading`` gives; that is also how the corpus's output
        # rows are written (no context), and it costs one embedding instead of two.
        screen = [screen_reading(f) for f in batch]
        readings = [s if s is not None else read_facts(f) for s, f in zip(screen, batch, strict=True)]
        scores = self.classify_readings(readings, screen)
        asks = [(i, t) for i, f in enumerate(batch) if not flagged(scores[i]) for t in earlier_user_turns(f)]
        if not asks:
            return scores
        # Read whole, without windows: only the top category of each turn is used here, and a
        # reading's scores do not depend on its windows, so windows would be wasted work.
        earlier = self._classify([Reading(t) for _, t in asks], None)
        added: dict[int, tuple[str, ...]] = {}
        for (i, _), s in zip(asks, earlier, strict=True):
            top = s.top()[0]
            if top in RED_LINES:
                added[i] = (CONTEXT_RISK, CONTEXT_RED_LINE)
            elif top in REVIEW_CATEGORIES:
                added.setdefault(i, (CONTEXT_RISK,))
        return [
            replace(s, signals=(*s.signals, *added[i])) if i in added else s for i, s in enumerate(scores)
        ]

    def classify_readings(
        self, readings: Sequence[Reading], screen_readings: Sequence[Reading | None] | None = None
    ) -> list[Scores]:
        """Scores for readings (the path ``train`` and ``eval`` share with run time).

        Readings the artifact's screen is confident about are answered from its
        cheap features (static vector and n-grams); only the rest run the
        contextual embedding model (see ``screen``), whose logits are blended with
        the screen's on the same reading by the artifact's weight. ``screen_readings``
        says what the screen may look at for each row (None: skip the screen); by
        default the reading itself.

        Long texts are read whole and in windows (:func:`windows`). The whole
        text's scores answer; when they read as allowed but a window reads as a red
        line or a review category, the answer carries the signal ``window_risk``
        (the default policy sends it to review: a window is read without the rest
        of the text, too weak a reading to deny on, too strong to allow silently).
        """
        if not readings:
            return []
        owners: list[int] = []
        expanded: list[Reading] = []
        expanded_screen: list[Reading | None] = []
        for i, r in enumerate(readings):
            sr = r if screen_readings is None else screen_readings[i]
            owners.append(i)
            expanded.append(r)
            expanded_screen.append(sr)
            for window in windows(r.latest):
                owners.append(i)
                expanded.append(Reading(window, r.context))
                expanded_screen.append(None if sr is None else Reading(window, sr.context))
        if len(expanded) == len(readings):
            return self._classify(readings, screen_readings)
        scored = self._classify(expanded, expanded_screen)
        whole: list[Scores | None] = [None] * len(readings)
        risky = [False] * len(readings)
        for owner, sc in zip(owners, scored, strict=True):
            if whole[owner] is None:
                whole[owner] = sc  # the whole text comes first
            elif flagged(sc):
                risky[owner] = True
        return [
            replace(s, signals=(*s.signals, WINDOW_RISK)) if risky[i] and not flagged(s) else s
            for i, s in enumerate(whole)
            if s is not None
        ]

    def _classify(
        self, readings: Sequence[Reading], screen_readings: Sequence[Reading | None] | None
    ) -> list[Scores]:
        """Screen each reading, then run the full model on the ones the screen passes on.

        On two cores (int8, :attr:`Embedder.pooled`) a batch is pipelined: this
        thread prepares :data:`CHUNK` readings at a time (n-grams, language,
        screen) and hands the ones the screen does not answer to the embedder's
        pool, whose onnxruntime calls release the GIL, so the Python work of the
        next readings overlaps them. Otherwise the passed-on readings are embedded
        together at the end. Each text is embedded alone on the int8 path, so every
        score is the one the reading gets on its own (tested).
        """
        artifact = self._load_artifact()
        norm, config, embedder = self._norm, self._config, self.embedder
        assert norm is not None and config is not None
        pooled = len(readings) > 1 and embedder.pooled
        step = CHUNK if pooled else max(1, len(readings))
        out: list[Scores | None] = [None] * len(readings)
        # Per passed-on reading: index, n-grams, language, screen logits, and (pooled) its
        # embeddings under way: the latest text's and the conversation's (None without context).
        rest: list[
            tuple[int, tuple[I32, F32], str, F64 | None, tuple[Future[F32], Future[F32] | None] | None]
        ] = []
        for start in range(0, len(readings), step):
            part = readings[start : start + step]
            part_screen = None if screen_readings is None else screen_readings[start : start + step]
            sparse = [hashed_features(r, config, norm) for r in part]
            languages = [identify(r.latest) for r in part]
            answers, screen_z = self._screen_pass(part, part_screen, sparse, languages)
            for j, probs in enumerate(answers):
                if probs is not None:
                    out[start + j] = self._scores(artifact, probs, languages[j], uncertain=False)
                    continue
                jobs = None
                if pooled:
                    r = part[j]
                    conv = embedder.submit(norm(r.conversation), keep_end=True) if r.context else None
                    jobs = (embedder.submit(norm(r.latest)), conv)
                rest.append((start + j, sparse[j], languages[j], screen_z[j], jobs))
        if rest and not pooled:
            dense = embed_readings(embedder, [readings[i] for i, *_ in rest], norm)
        for k, (i, sparse_i, language, z, jobs) in enumerate(rest):
            if jobs is not None:
                latest, conv = jobs
                vector = latest.result()
                row = np.concatenate([vector, vector if conv is None else conv.result()])
            else:
                row = dense[k]
            out[i] = self._score(artifact, row, readings[i], language, sparse_i, z)
        return [s for s in out if s is not None]

    def _screen_pass(
        self,
        readings: Sequence[Reading],
        screen_readings: Sequence[Reading | None] | None,
        sparse: Sequence[tuple[I32, F32]],
        languages: Sequence[str],
    ) -> tuple[list[npt.NDArray[np.float64] | None], list[npt.NDArray[np.float64] | None]]:
        """Per reading: the screen's probabilities when it answers, and its logits for the blend.

        The second list holds, for each reading the screen does not answer, the
        screen's logits on the reading itself (the static vector of its latest text
        and its n-grams, context included, as in training), when the artifact
        blends them into the full model's; else None.
        """
        n = len(readings)
        answers: list[npt.NDArray[np.float64] | None] = [None] * n
        blend: list[npt.NDArray[np.float64] | None] = [None] * n
        screen, norm, config = self._screen, self._norm, self._config
        assert norm is not None and config is not None
        todo = []
        for i, r in enumerate(readings):
            sr = r if screen_readings is None else screen_readings[i]
            if screen is not None and sr is not None and eligible(sr, languages[i]):
                todo.append((i, sr))
        if screen is not None and todo:
            dense = self.static.embed([norm(sr.latest) for _, sr in todo], screen.sif)
            for (i, sr), vec in zip(todo, dense, strict=True):
                own = sr == readings[i]
                z = screen.logits(*(sparse[i] if own else hashed_features(sr, config, norm)), vec)
                answers[i] = screen.answer(languages[i], z)
                if own and answers[i] is None and self._blend:
                    blend[i] = z
        blender = self._blender
        if self._blend and blender is not None:
            rest = [i for i in range(n) if answers[i] is None and blend[i] is None]
            if rest:
                dense = self.static.embed([norm(readings[i].latest) for i in rest], blender.sif)
                for i, vec in zip(rest, dense, strict=True):
                    blend[i] = blender.logits(*sparse[i], vec)
        return answers, blend

    def screened(self, readings: Sequence[Reading]) -> list[bool]:
        """Whether the screen would answer each reading (without running the full model)."""
        self._load_artifact()
        assert self._norm is not None and self._config is not None
        sparse = [hashed_features(r, self._config, self._norm) for r in readings]
        languages = [identify(r.latest) for r in readings]
        return [p is not None for p in self._screen_pass(readings, None, sparse, languages)[0]]

    def _score(
        self,
        artifact: Artifact,
        dense: F32,
        reading: Reading,
        language: str,
        sparse: tuple[I32, F32],
        screen_z: npt.NDArray[np.float64] | None = None,
    ) -> Scores:
        meta = artifact.meta
        z = logits_one(dense, sparse[0], sparse[1], artifact.arrays).astype(np.float64)
        if self._blend and screen_z is not None:
            z = (1.0 - self._blend) * z + self._blend * screen_z
        temperature = float(meta["temperature"] if language == "en" else meta["temperature_other"])
        probs = softmax(z / temperature)
        floor = float(meta["min_confidence"] if language == "en" else meta["min_confidence_other"])
        uncertain = (
            float(probs.max()) < floor
            or language == UNKNOWN
            or not readable(reading.latest if not reading.context else reading.conversation)
        )
        return self._scores(artifact, probs, language, uncertain=uncertain)

    @staticmethod
    def _scores(
        artifact: Artifact, probs: npt.NDArray[np.float64], language: str, *, uncertain: bool
    ) -> Scores:
        categories = {
            name: round(float(p), 6) for name, p in zip(artifact.meta["categories"], probs, strict=True)
        }
        return Scores(
            categories=categories,
            uncertain=uncertain,
            language=language,
            classifier_version=artifact.version,
        )


def check_categories(names: Sequence[str]) -> None:
    """The artifact's categories must be the taxonomy's (in any order)."""
    from ..errors import ClassifierError

    if sorted(names) != sorted(CATEGORIES):
        raise ClassifierError("the classifier artifact was trained on another taxonomy; rebuild it")


__all__ = ["DIM", "TrainedClassifier", "embed_readings"]
