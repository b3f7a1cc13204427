"""redline: enforceable, verifiable usage terms for AI models at the API boundary.

The public API is what ``__all__`` lists; everything else is private or lives in
the subpackages named after the architecture (``policy``, ``classify``,
``ledger``, ``oversight``, ``gateway``, ``store``, ``web``). Importing redline
loads no model and touches no file.
"""

from __future__ import annotations

from ._check import Checker, check
from .classify.base import Classifier, NullClassifier, Scores
from .decision import Approvals, Decision, PolicyRef, Route, Verdict
from .enforce import Enforcer
from .errors import RedlineError
from .facts import Attributes, Facts, Message, Principal, Stage, Target, ToolCall, ToolSpec
from .policy import CompiledPolicy, default_policy, load_policy

__version__ = "0.1.0"

__all__ = [
    "Approvals",
    "Attributes",
    "Checker",
    "Classifier",
    "CompiledPolicy",
    "Decision",
    "Enforcer",
    "Facts",
    "Message",
    "NullClassifier",
    "PolicyRef",
    "Principal",
    "RedlineError",
    "Route",
    "Scores",
    "Stage",
    "Target",
    "ToolCall",
    "ToolSpec",
    "Verdict",
    "__version__",
    "check",
    "default_policy",
    "load_policy",
]
