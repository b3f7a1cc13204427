"""``redline users …``: reviewer accounts (register ``users`` on the main CLI group).

    redline users add NAME --role commander [--role …] [--tenant T] [--password-stdin]
    redline users list
    redline users remove NAME
    redline users passwd NAME [--password-stdin]

The database is ``--database-url``, else ``$REDLINE_DATABASE_URL``, else the
deployment's settings (``redline.settings.load_settings``). Passwords are read from
a hidden prompt (typed twice) or, with ``--password-stdin``, from the first line of
standard input; they are stored only as argon2id hashes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from redline.oversight.users import ALL_TENANTS, ROLES, Authenticator, hash_password, validate_roles
from redline.store import Store
from redline.store.commands import with_store

__all__ = ["users"]

T = TypeVar("T")


def _database_url(given: str | None) -> str:
    if given:
        return given
    try:
        from redline.settings import load_settings
    except ImportError:  # settings are the lead's module; fall back to the store default
        from redline.store import default_database_url

        return default_database_url()
    return load_settings().resolved_database_url()


def _run(url: str | None, work: Callable[[Store], Awaitable[T]]) -> T:
    return with_store(_database_url(url), work)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


_db = click.option("--database-url", envvar="REDLINE_DATABASE_URL", help="sqlite:///path or postgresql://…")


@click.group("users")
def users() -> None:
    """Reviewer accounts for the oversight UI and API."""


@users.command("add")
@click.argument("name")
@click.option(
    "--role", "roles", multiple=True, required=True, type=click.Choice(ROLES), help="repeat for several roles"
)
@click.option(
    "--tenant", default=ALL_TENANTS, show_default=True, help="the tenant this user acts for; * = all"
)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@_db
def add(
    name: str, roles: tuple[str, ...], tenant: str, password_stdin: bool, database_url: str | None
) -> None:
    """Create user NAME with the given roles."""
    password = _password(password_stdin)

    async def work(store: Store) -> None:
        await Authenticator(store).add_user(name, password, roles, tenant, time.time())

    _run(database_url, work)
    click.echo(f"user {name} added: roles {', '.join(roles)}; tenant {tenant}")


@users.command("list")
@_db
def list_users(database_url: str | None) -> None:
    """List users with their roles and tenant."""

    async def work(store: Store) -> list[tuple[str, str, str]]:
        return [(u.name, ",".join(u.roles), u.tenant) for u in await store.list_users()]

    for name, roles, tenant in _run(database_url, work):
        click.echo(f"{name}\t{roles}\t{tenant}")


@users.command("remove")
@click.argument("name")
@_db
def remove(name: str, database_url: str | None) -> None:
    """Delete user NAME and their sessions (their past votes stay)."""

    async def work(store: Store) -> bool:
        return await store.delete_user(name)

    if not _run(database_url, work):
        click.echo(f"error: no user {name}", err=True)
        sys.exit(2)
    click.echo(f"user {name} removed")


@users.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@click.option("--role", "roles", multiple=True, type=click.Choice(ROLES), help="replace the roles too")
@_db
def passwd(name: str, password_stdin: bool, roles: tuple[str, ...], database_url: str | None) -> None:
    """Set user NAME's password (and, with --role, their roles)."""
    password = _password(password_stdin)

    async def work(store: Store) -> bool:
        encoded = hash_password(password) if password else None
        return await store.update_user(
            name, password_hash=encoded, roles=validate_roles(roles) if roles else None
        )

    if not _run(database_url, work):
        click.echo(f"error: no user {name}", err=True)
        sys.exit(2)
    click.echo(f"user {name} updated")
