"""Every data-driven case in tests/policy_cases runs as its own test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from redline.policy.cases import iter_case_files, load_case_file, run_case

CASES_DIR = Path(__file__).resolve().parents[2] / "policy_cases"


def _all_cases() -> list[Any]:
    params = []
    for file in iter_case_files(CASES_DIR):
        default, cases = load_case_file(file)
        for case in cases:
            params.append(pytest.param(file, default, case, id=f"{file.stem}::{case['name']}"))
    return params


ALL = _all_cases()


def test_there_are_at_least_sixty_cases() -> None:
    assert len(ALL) >= 60


@pytest.mark.parametrize(("file", "default", "case"), ALL)
def test_case(file: Path, default: dict[str, Any], case: dict[str, Any]) -> None:
    result = run_case(case, default, file.parent, str(file))
    assert result.ok, "\n".join(result.problems)


def test_a_wrong_expectation_fails() -> None:
    """The runner itself can fail: a case that expects the wrong verdict is reported."""
    case = {"name": "wrong", "facts": {"text": "x"}, "scores": {"general": 0.9}, "want": {"verdict": "deny"}}
    result = run_case(case, {"policy": "default"}, CASES_DIR, "inline")
    assert not result.ok
    assert "verdict: want deny, got allow" in result.problems[0]
