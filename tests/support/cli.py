"""Running redline's own CLI from tests, as an operator would."""

from __future__ import annotations

import json

from click.testing import CliRunner

from redline.cli import main


def issue_key(database_url: str, tenant: str, app: str, *options: str) -> str:
    """``redline keys issue`` against ``database_url``; returns the new ``rl-`` key."""
    result = CliRunner().invoke(
        main,
        [
            "--config",
            "/dev/null",
            "keys",
            "issue",
            "--tenant",
            tenant,
            "--app",
            app,
            "--json",
            "--database-url",
            database_url,
            *options,
        ],
    )
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["key"])
