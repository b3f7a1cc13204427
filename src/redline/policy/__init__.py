"""Policy-as-code: parse → compile → evaluate.

``load_policy(path, overlays=...)`` compiles once; ``CompiledPolicy.evaluate``
is then a pure function of (facts, scores, counters). Signed bundles are in
``redline.policy.signing``.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from .compiled import CompiledPolicy, CompiledRule, CounterQuery
from .compiler import compile_documents
from .document import PolicyDocument, json_schema
from .loader import LoadedDocument, canonical_bytes, parse_text, read_file

__all__ = [
    "CompiledPolicy",
    "CompiledRule",
    "CounterQuery",
    "LoadedDocument",
    "PolicyDocument",
    "canonical_bytes",
    "compile_documents",
    "compile_text",
    "default_policy",
    "default_policy_path",
    "json_schema",
    "load_policy",
    "parse_text",
    "read_file",
]


def load_policy(path: str | Path, overlays: Sequence[str | Path] = ()) -> CompiledPolicy:
    """Read, parse and compile a policy file and its overlays."""
    return compile_documents(read_file(path), [read_file(o) for o in overlays])


def compile_text(text: str, overlays: Sequence[str] = (), file: str = "<policy>") -> CompiledPolicy:
    """Compile a policy given as YAML text (and overlays as YAML texts)."""
    return compile_documents(
        parse_text(text, file), [parse_text(o, f"<overlay {i}>") for i, o in enumerate(overlays)]
    )


def default_policy_path() -> Path:
    """The default policy shipped with redline (TAXONOMY.md as code)."""
    return Path(str(resources.files("redline") / "policies" / "default.yaml"))


def default_policy() -> CompiledPolicy:
    """Compile the shipped default policy (each call compiles anew; keep the result)."""
    return load_policy(default_policy_path())
