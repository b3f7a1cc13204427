"""CLI commands of the gateway: ``redline keys issue|list|revoke`` and ``redline report providers``.

``redline.cli`` plugs ``keys_issue``/``keys_list``/``keys_revoke`` into its ``keys``
group and ``report`` into ``main``; ``keys`` is the same three as a standalone group. Every command takes ``--database-url``
(default: ``$REDLINE_DATABASE_URL`` or the SQLite file in redline's data dir).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from ..store import Store
from ..store.commands import database_url_option, with_store
from .keys import issue_key, revoke_key

T = TypeVar("T")

_db_option = database_url_option


def _run(database_url: str | None, work: Callable[[Store], Awaitable[T]]) -> T:
    return with_store(database_url, work)


def _parse_attrs(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint="--attr")
        out[name.strip().replace("-", "_")] = value.strip()
    return out


@click.group()
def keys() -> None:
    """Issue, list and revoke gateway API keys (stored hashed)."""


@keys.command("issue")
@click.option("--tenant", required=True, help="Organisation the key belongs to.")
@click.option("--app", "app_name", required=True, help="Application the key belongs to.")
@click.option("--user", default=None, help="End user, if the key is personal.")
@click.option(
    "--attr",
    "attrs",
    multiple=True,
    metavar="NAME=VALUE",
    help="Fixed attribute no request can override (repeatable), e.g. purpose=logistics, clearance=secret.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of the bare key.")
@_db_option
def keys_issue(
    tenant: str,
    app_name: str,
    user: str | None,
    attrs: tuple[str, ...],
    as_json: bool,
    database_url: str | None,
) -> None:
    """Issue a key. It is printed once and cannot be shown again."""
    attributes = _parse_attrs(attrs)

    async def work(store: Store) -> tuple[str, str]:
        return await issue_key(store, tenant=tenant, app=app_name, user=user, attributes=attributes)

    key, digest = _run(database_url, work)
    if as_json:
        click.echo(
            json.dumps({"key": key, "key_hash": digest, "tenant": tenant, "app": app_name, "user": user})
        )
    else:
        click.echo(key)
        click.echo(f"(hash {digest[:16]}…; store the key now: it is not kept)", err=True)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
@_db_option
def keys_list(as_json: bool, database_url: str | None) -> None:
    """List keys (hash prefix, tenant, app, user, fixed attributes, state)."""
    rows = _run(database_url, lambda s: s.list_api_keys())
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "key_hash": r.key_hash,
                        "tenant": r.tenant,
                        "app": r.app,
                        "user": r.user,
                        "attributes": json.loads(r.attributes or "{}"),
                        "created_at": r.created_at,
                        "revoked_at": r.revoked_at,
                    }
                    for r in rows
                ]
            )
        )
        return
    for r in rows:
        state = "revoked" if r.revoked_at else "active"
        click.echo(f"{r.key_hash[:16]}  {state:7}  {r.tenant}/{r.app}/{r.user or '-'}  {r.attributes}")


@keys.command("revoke")
@click.argument("key_or_hash")
@_db_option
def keys_revoke(key_or_hash: str, database_url: str | None) -> None:
    """Revoke a key, given the key, its hash, or a unique hash prefix (8+ chars)."""
    done = _run(database_url, lambda s: revoke_key(s, key_or_hash))
    if not done:
        click.echo("error: no such active key", err=True)
        sys.exit(1)
    click.echo("revoked")


@click.group()
def report() -> None:
    """Reports over what redline has seen."""


@report.command("providers")
@click.option("--days", default=30, show_default=True, help="How many days back to report.")
@click.option("--json", "as_json", is_flag=True)
@_db_option
def providers_cmd(days: int, as_json: bool, database_url: str | None) -> None:
    """Which tenants and apps call which vendor and model, per day: the inventory a migration needs."""
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).timestamp()
    rows = _run(database_url, lambda s: s.provider_usage(since))
    if as_json:
        out: list[dict[str, Any]] = [
            {
                "day": r.day,
                "tenant": r.tenant,
                "app": r.app,
                "vendor": r.vendor,
                "model": r.model,
                "count": r.count,
                "first_seen": r.first_seen,
                "last_seen": r.last_seen,
            }
            for r in rows
        ]
        click.echo(json.dumps(out))
        return
    if not rows:
        click.echo(f"no provider use recorded in the last {days} days")
        return
    totals: dict[tuple[str, str, str], int] = {}
    for r in rows:
        totals[(r.vendor, r.tenant, r.app)] = totals.get((r.vendor, r.tenant, r.app), 0) + r.count
    click.echo(f"{'day':10}  {'vendor':16}  {'model':24}  {'tenant/app':28}  calls")
    for r in rows:
        click.echo(f"{r.day:10}  {r.vendor:16}  {r.model:24}  {r.tenant + '/' + r.app:28}  {r.count}")
    click.echo("")
    click.echo(f"totals over {days} days (vendor, tenant/app):")
    for (vendor, tenant, app_name), n in sorted(totals.items()):
        click.echo(f"  {vendor:16}  {tenant}/{app_name}: {n}")
