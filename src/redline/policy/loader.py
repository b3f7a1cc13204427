"""Reading policy files: YAML with line numbers, canonical bytes, and typed documents.

A policy's meaning is its parsed data, not its formatting: ``canonical_bytes``
(sorted keys, no insignificant whitespace, UTF-8) is what is hashed and signed,
so re-indenting or re-ordering keys changes neither the hash nor a signature.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import CompileIssue, PolicyCompileError, PolicyParseError
from .document import PolicyDocument

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Safe YAML (libyaml when present) without implicit timestamps, so every value has a JSON form."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load(text: str) -> tuple[yaml.Node | None, object]:
    """Parse once: the node tree (for line numbers) and the data built from it."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return node, data


Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class SourceMap:
    """Where each key of a parsed document stood in its file."""

    file: str
    lines: dict[Path_, int]

    def line_of(self, path: Path_) -> int | None:
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


def _walk(
    node: yaml.Node, path: Path_, lines: dict[Path_, int], issues: list[CompileIssue], file: str
) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                issues.append(
                    CompileIssue(
                        "policy_duplicate_key",
                        f"key {key!r} appears twice; the second would silently replace the first",
                        file,
                        key_node.start_mark.line + 1,
                        _dotted((*path, key)),
                    )
                )
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), lines, issues, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines, issues, file)


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass(frozen=True)
class LoadedDocument:
    document: PolicyDocument
    data: dict[str, Any]
    source: SourceMap

    @property
    def canonical(self) -> bytes:
        return canonical_bytes(self.data)

    @property
    def hash(self) -> str:
        return "sha256:" + hashlib.sha256(self.canonical).hexdigest()


def canonical_bytes(data: Any) -> bytes:
    """The canonical encoding of parsed policy data: what is hashed and signed."""
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def parse_text(text: str, file: str = "<policy>") -> LoadedDocument:
    """Parse and type-check one policy document; raise with file:line on any problem."""
    try:
        node, data = _load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyCompileError(
            [CompileIssue("policy_parse_error", f"malformed YAML: {problem}", file, line)]
        ) from None
    if not isinstance(data, dict) or node is None:
        raise PolicyCompileError(
            [
                CompileIssue(
                    "policy_parse_error", "a policy must be a YAML mapping (key: value pairs)", file, 1
                )
            ]
        )
    lines: dict[Path_, int] = {}
    issues: list[CompileIssue] = []
    _walk(node, (), lines, issues, file)
    source = SourceMap(file, lines)
    if issues:
        raise PolicyCompileError(issues)
    try:
        canonical_bytes(data)
    except ValueError as exc:
        raise PolicyCompileError(
            [CompileIssue("policy_parse_error", f"unsupported value: {exc}", file, 1)]
        ) from None
    try:
        document = PolicyDocument.model_validate(data)
    except ValidationError as exc:
        raise PolicyCompileError(_validation_issues(exc, source)) from None
    return LoadedDocument(document, data, source)


def _validation_issues(exc: ValidationError, source: SourceMap) -> list[CompileIssue]:
    issues = []
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if isinstance(p, str | int))
        # pydantic reports the branch of an Annotated validator in loc; keep only document keys.
        loc = tuple(p for p in loc if p not in ("function-before[_one_or_many(), list[str]]",))
        code = "policy_unknown_field" if error["type"] == "extra_forbidden" else "policy_invalid_value"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = f"unknown field {loc[-1]!r}" if loc else "unknown field"
        issues.append(CompileIssue(code, message, source.file, source.line_of(loc), _dotted(loc)))
    return issues


def read_file(path: str | Path) -> LoadedDocument:
    """Read and parse a policy file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyParseError(f"policy file not found: {p}", file=str(p)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyParseError(f"cannot read policy file {p}: {exc}", file=str(p)) from None
    return parse_text(text, str(p))
