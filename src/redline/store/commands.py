"""CLI: ``redline db info`` and ``redline db migrate`` (register ``db`` on the main group).

Both open the store named by ``--database-url`` (``REDLINE_DATABASE_URL``; default: the
SQLite file in the data dir), which applies pending migrations, and print what they
found. Exit codes: 0 ok, 2 bad URL, 5 store unavailable.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

from redline.errors import RedlineError
from redline.store.base import Store

T = TypeVar("T")

#: The ``--database-url`` option every command that opens the store takes.
database_url_option = click.option(
    "--database-url",
    envvar="REDLINE_DATABASE_URL",
    default=None,
    help="sqlite:///path or postgresql://… [env REDLINE_DATABASE_URL; default: SQLite in the data dir]",
)
_DB = database_url_option


def run_async(fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a command's coroutine; a ``RedlineError`` becomes ``error[code]: message`` and its exit code."""
    try:
        return asyncio.run(fn())
    except RedlineError as exc:
        click.echo(f"error[{exc.code}]: {exc.message}", err=True)
        sys.exit(exc.exit_code)


_run = run_async


def with_store(database_url: str | None, work: Callable[[Store], Awaitable[T]]) -> T:
    """Open the store named by ``database_url`` (default: the data-dir SQLite file), run
    ``work`` on it, close it; errors as in ``run_async``."""

    async def main() -> T:
        from redline.store import default_database_url, open_store

        store = await open_store(database_url or default_database_url())
        try:
            return await work(store)
        finally:
            await store.close()

    return run_async(main)


def _redacted(url: str) -> str:
    """The URL without its password, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


async def _info(database_url: str | None) -> dict[str, Any]:
    from redline.store import default_database_url, open_store
    from redline.store.migrations import latest_version

    url = database_url or default_database_url()
    store = await open_store(url)
    try:
        latest = await store.latest_checkpoint()
        return {
            "url": _redacted(url),
            "backend": store.backend,
            "schema_version": await store.schema_version(),
            "code_schema_version": latest_version(),
            "log_size": await store.log_size(),
            "latest_checkpoint_size": None if latest is None else latest.size,
        }
    finally:
        await store.close()


@click.group("db")
def db() -> None:
    """Inspect and migrate redline's database."""


@db.command("info")
@_DB
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def info(database_url: str | None, as_json: bool) -> None:
    """Show the backend, schema version, log size and latest checkpoint."""
    result = _run(lambda: _info(database_url))
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        click.echo(f"{key}: {value}")


@db.command("migrate")
@_DB
def migrate(database_url: str | None) -> None:
    """Apply pending schema migrations (opening the store does this too)."""
    result = _run(lambda: _info(database_url))
    click.echo(f"{result['url']}: schema version {result['schema_version']} ({result['backend']})")
