"""``redline db info|migrate`` through click's CliRunner, on a real SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from redline.store.commands import _redacted, db
from redline.store.migrations import latest_version


def test_db_migrate_and_info(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'r.db'}"
    runner = CliRunner()
    result = runner.invoke(db, ["migrate", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert f"schema version {latest_version()}" in result.output
    result = runner.invoke(db, ["info", "--json"], env={"REDLINE_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["backend"] == "sqlite"
    assert data["log_size"] == 0 and data["latest_checkpoint_size"] is None
    assert data["schema_version"] == data["code_schema_version"] == latest_version()


def test_db_info_unreachable_exits_5() -> None:
    result = CliRunner().invoke(db, ["info", "--database-url", "postgresql://u:secret@127.0.0.1:1/x"])
    assert result.exit_code == 5
    assert "store_unavailable" in result.output
    assert "secret" not in result.output


def test_bad_scheme_exits_2() -> None:
    result = CliRunner().invoke(db, ["info", "--database-url", "mysql://h/x"])
    assert result.exit_code == 2


def test_redacted() -> None:
    assert _redacted("postgresql://u:pw@h:5432/db?schema=s") == "postgresql://u:***@h:5432/db?schema=s"
    assert _redacted("sqlite:////a/b.db") == "sqlite:////a/b.db"
