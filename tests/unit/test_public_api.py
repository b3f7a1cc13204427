"""The public API is exactly ``redline.__all__``, and importing redline loads no model."""

from __future__ import annotations

import subprocess
import sys

import redline


def test_public_api_is_pinned() -> None:
    assert sorted(redline.__all__) == sorted(
        [
            "Approvals", "Attributes", "Checker", "Classifier", "CompiledPolicy", "Decision", "Enforcer",
            "Facts", "Message", "NullClassifier", "PolicyRef", "Principal", "RedlineError", "Route", "Scores",
            "Stage", "Target", "ToolCall", "ToolSpec", "Verdict", "__version__", "check", "default_policy",
            "load_policy",
        ]
    )  # fmt: skip
    for name in redline.__all__:
        assert hasattr(redline, name)


def test_import_loads_no_model_and_no_heavy_runtime() -> None:
    code = (
        "import sys, redline; "
        "heavy = [m for m in ('onnxruntime', 'tokenizers', 'torch', 'aiohttp', 'fastapi') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_library_check_with_keyword_floor() -> None:
    checker = redline.Checker(classifier="keywords")
    d = checker.check("Engage all hostile personnel without further human authorization.")
    assert d.verdict is redline.Verdict.DENY
    assert checker.check("hello there").verdict is redline.Verdict.ALLOW
    d = checker.check([{"role": "user", "content": "locate this man"}], attributes={"legal_authority": "W-1"})
    assert d.verdict is redline.Verdict.ALLOW  # keyword floor alone does not see individual surveillance
