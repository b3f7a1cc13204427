"""The ``redline`` command line.

Exit codes: 0 allow / success, 10 review, 20 deny, 2 usage or input error,
3 policy error, 4 signature error, 5 store or classifier unavailable, 6 ledger
verification failed. Errors print ``error[code]: message`` on stderr, never a
traceback.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import click

from .decision import Decision
from .errors import PolicyCompileError, RedlineError, UsageError
from .facts import Attributes, Facts, Message, Principal
from .settings import Settings, load_settings


def _fail(exc: RedlineError) -> None:
    click.echo(f"error[{exc.code}]: {exc.message}", err=True)
    if isinstance(exc, PolicyCompileError):
        for issue in exc.issues:
            click.echo(f"  {issue}", err=True)
    sys.exit(exc.exit_code)


# Commands that live beside the parts they drive, loaded only when named:
# group name → {command name → (module, attribute)}.
_PLUGGED: dict[str, dict[str, tuple[str, str]]] = {
    "main": {
        "train": ("redline.classify.commands", "train"),
        "eval": ("redline.classify.commands", "eval_"),
        "audit": ("redline.ledger.commands", "audit"),
        "attest": ("redline.ledger.commands", "attest"),
        "witness": ("redline.ledger.commands", "witness"),
        "report": ("redline.gateway.commands", "report"),
        "users": ("redline.oversight.commands", "users"),
        "db": ("redline.store.commands", "db"),
    },
    "keys": {
        "issue": ("redline.gateway.commands", "keys_issue"),
        "list": ("redline.gateway.commands", "keys_list"),
        "revoke": ("redline.gateway.commands", "keys_revoke"),
    },
}


class _Group(click.Group):
    """A click group that loads plugged commands lazily and turns ``RedlineError``
    into a message and its exit code."""

    def _plugged(self) -> dict[str, tuple[str, str]]:
        return _PLUGGED.get(self.name or "", {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        names.update(n for n in self._plugged() if self.get_command(ctx, n) is not None)
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self._plugged():
            module, attribute = self._plugged()[cmd_name]
            try:
                command = getattr(importlib.import_module(module), attribute)
            except (ImportError, AttributeError):
                return None
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RedlineError as exc:
            _fail(exc)


def _settings(ctx: click.Context, **overrides: Any) -> Settings:
    config = ctx.find_root().params.get("config")
    return load_settings(config, **overrides)


@click.group(cls=_Group, name="main")
@click.option(
    "--config", type=click.Path(dir_okay=False), help="YAML settings file (else REDLINE_* variables)."
)
@click.version_option(package_name="redline")
def main(config: str | None) -> None:
    """redline: enforceable, verifiable usage terms for AI models."""


# ---------------------------------------------------------------- check


def _parse_attrs(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--attr takes NAME=VALUE, got {pair!r}")
        out[name] = value
    return out


def _print_decision(d: Decision) -> None:
    top = sorted(d.scores.items(), key=lambda kv: -kv[1])[:4]
    rows = [
        ("verdict", d.verdict.value.upper() + (f" ({d.code})" if d.code else "")),
        ("category", d.category + ("  [uncertain]" if d.uncertain else "")),
        ("rules", ", ".join(d.rules) or "-"),
        ("reasons", "\n           ".join(d.reasons) or "-"),
        ("scores", ", ".join(f"{k} {v:.2f}" for k, v in top) or "-"),
    ]
    if d.approvals:
        a = d.approvals
        rows.append(("approvals", f"{a.count} of roles {', '.join(a.roles)}; min {a.min_deliberation_s:g}s"))
    if d.route:
        rows.append(("route", f"{d.route.model} ({d.route.vendor or 'same vendor'})"))
    rows += [
        ("policy", f"{d.policy.name} {d.policy.version} {d.policy.hash[:19]}…"),
        ("classifier", d.classifier_version),
        ("decision", d.id),
    ]
    for name, value in rows:
        click.echo(f"{name:<10} {value}")


def _read_prompts(path: str) -> Iterator[tuple[int, Facts | RedlineError]]:
    try:
        fh = sys.stdin if path == "-" else open(path, encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    try:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("each line must be a JSON object")
                text = row.get("text")
                messages = [Message(role="user", content=text)] if isinstance(text, str) else []
                if "context" in row:
                    messages = [Message(**m) for m in row["context"]] + messages
                if not messages:
                    raise ValueError("missing 'text' (a string)")
                attrs = row.get("attributes") or {}
                if not isinstance(attrs, dict):
                    raise ValueError("'attributes' must be an object")
                yield number, Facts(messages=tuple(messages), attributes=Attributes.from_mapping(attrs))
            except (ValueError, TypeError) as exc:
                msg = str(exc).splitlines()[0]
                yield number, UsageError(f"line {number}: {msg}", code="invalid_line", line=number)
    finally:
        if fh is not sys.stdin:
            fh.close()


@main.command()
@click.argument("text", required=False)
@click.option(
    "--file", "file_", type=str, help="JSONL file of prompts ('-' for stdin): text, optional attributes."
)
@click.option("--json", "as_json", is_flag=True, help="Print decisions as JSON.")
@click.option("--policy", type=click.Path(dir_okay=False), help="Policy file (default: the shipped policy).")
@click.option(
    "--overlay", multiple=True, type=click.Path(dir_okay=False), help="Tenant overlay (repeatable)."
)
@click.option("--attr", multiple=True, help="Attribute NAME=VALUE (repeatable), e.g. legal_authority=W-17.")
@click.option("--tenant", default="default", show_default=True)
@click.option("--app", "app_", default="cli", show_default=True)
@click.option("--user", default=None)
@click.option("--classifier", default=None, help="'auto', 'keywords' or an artifact directory.")
@click.option(
    "--record", is_flag=True, help="Append every decision to the ledger (durably) before printing it."
)
@click.pass_context
def check(
    ctx: click.Context,
    text: str | None,
    file_: str | None,
    as_json: bool,
    policy: str | None,
    overlay: tuple[str, ...],
    attr: tuple[str, ...],
    tenant: str,
    app_: str,
    user: str | None,
    classifier: str | None,
    record: bool,
) -> None:
    """Decide TEXT (or every line of --file). Exit 0 allow, 10 review, 20 deny, 2 bad input."""
    if (text is None) == (file_ is None):
        raise UsageError("give either TEXT or --file")
    settings = _settings(
        ctx,
        policy_path=policy,
        overlays=list(overlay) or None,
        classifier=classifier,
        record=record,
    )
    principal = Principal(tenant=tenant, app=app_, user=user)
    fixed = Attributes.from_mapping(_parse_attrs(attr))
    if text is not None:
        items: list[tuple[int, Facts | RedlineError]] = [(1, Facts.from_text(text))]
    else:
        assert file_ is not None
        items = list(_read_prompts(file_))
    decisions = asyncio.run(_decide_all(settings, items, principal, fixed, record))
    worst = 0
    bad_lines = 0
    for (number, _), result in zip(items, decisions, strict=True):
        if isinstance(result, RedlineError):
            bad_lines += 1
            click.echo(f"error[{result.code}]: {result.message}", err=True)
            if file_ is not None:
                click.echo(json.dumps({"line": number, "error": result.as_dict()}))
            continue
        worst = max(worst, result.verdict.exit_code)
        if as_json or file_ is not None:
            click.echo(result.model_dump_json())
        else:
            _print_decision(result)
    sys.exit(2 if bad_lines else worst)


async def _decide_all(
    settings: Settings,
    items: list[tuple[int, Facts | RedlineError]],
    principal: Principal,
    fixed: Attributes,
    record: bool,
) -> list[Decision | RedlineError]:
    from .services import build_services, load_classifier, load_deployment_policy

    if record:
        services = await build_services(settings)
        enforcer = services.enforcer
    else:
        from .enforce import Enforcer

        services = None
        enforcer = Enforcer(load_deployment_policy(settings), load_classifier(settings.classifier))
    try:
        facts = [
            f.model_copy(update={"principal": principal, "attributes": f.attributes.merged(fixed)})
            for _, f in items
            if isinstance(f, Facts)
        ]
        scores = iter(enforcer.classifier.classify_many(facts)) if facts else iter(())
        facts_iter = iter(facts)
        out: list[Decision | RedlineError] = []
        for _, item in items:
            if isinstance(item, RedlineError):
                out.append(item)
                continue
            out.append(await enforcer.decide_scored(next(facts_iter), next(scores)))
        return out
    finally:
        if services is not None:
            await services.aclose()


# ---------------------------------------------------------------- policy


@main.group(cls=_Group)
def policy() -> None:
    """Validate, explain, test, sign and verify policies."""


@policy.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--overlay", multiple=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def policy_validate(file: str, overlay: tuple[str, ...], as_json: bool) -> None:
    """Parse and compile FILE (with overlays); print every problem with file:line and code."""
    from .policy import load_policy

    try:
        compiled = load_policy(file, overlay)
    except PolicyCompileError as exc:
        if as_json:
            click.echo(json.dumps({"ok": False, "issues": [i.as_dict() for i in exc.issues]}, indent=2))
            sys.exit(exc.exit_code)
        raise
    if as_json:
        click.echo(json.dumps({"ok": True, "policy": compiled.ref.model_dump()}))
    else:
        click.echo(
            f"ok: {compiled.ref.name} {compiled.ref.version} {compiled.ref.hash} ({len(compiled.rules)} rules)"
        )


@policy.command("explain")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--overlay", multiple=True, type=click.Path(dir_okay=False))
def policy_explain(file: str, overlay: tuple[str, ...]) -> None:
    """Print the rules of FILE in precedence order (deny, review, allow)."""
    from .policy import load_policy

    compiled = load_policy(file, overlay)
    click.echo(f"{compiled.ref.name} {compiled.ref.version}  {compiled.ref.hash}")
    click.echo(
        "precedence: deny > review > allow; every matching rule counts; no match → "
        + compiled.default_verdict.value
    )
    click.echo(
        "categories (first reaching its threshold wins): "
        + ", ".join(f"{c}≥{t:g}" for c, t in compiled.categories)
    )
    for rule in compiled.explain():
        flag = " [red line: not waivable]" if not rule.waivable else ""
        click.echo(f"\n{rule.verdict.value.upper():<6} {rule.id}{flag}   ({rule.origin})")
        click.echo("       when " + " and ".join(rule.conditions))
        if rule.approvals:
            a = rule.approvals
            click.echo(
                f"       needs {a.count} distinct approver(s) with role {'/'.join(a.roles)}, "
                f"min deliberation {a.min_deliberation_s:g}s, expires after {a.expires_s:g}s"
            )
        if rule.as_category:
            click.echo(f"       reported as {rule.as_category}")
        if rule.reason:
            click.echo(f"       reason: {rule.reason}")
    if compiled.vendor_denials or compiled.routes:
        click.echo("\nprovider directives:")
        for vendor, reason in compiled.vendor_denials.items():
            click.echo(f"  DENY vendor {vendor}: {reason}")
        for r in compiled.routes:
            click.echo(
                f"  ROUTE {r.pattern} → {r.to_model or '(same model)'} at {r.to_vendor or '(same vendor)'}"
            )


@policy.command("test")
@click.argument("path", type=click.Path(exists=True))
@click.option("-v", "--verbose", is_flag=True, help="List every case.")
def policy_test(path: str, verbose: bool) -> None:
    """Run the policy case files (*.yaml) under PATH."""
    from .policy.cases import run_path

    results = run_path(path)
    failed = [r for r in results if not r.ok]
    for r in results:
        if verbose or not r.ok:
            click.echo(f"{'PASS' if r.ok else 'FAIL'} {r.file} :: {r.name}")
            for p in r.problems:
                click.echo(f"     {p}")
    click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed or not results else 0)


@policy.command("schema")
def policy_schema() -> None:
    """Print the JSON Schema of the policy format."""
    from .policy import json_schema

    click.echo(json.dumps(json_schema(), indent=2, sort_keys=True))


@policy.command("hash")
@click.argument("file", type=click.Path(dir_okay=False))
def policy_hash(file: str) -> None:
    """Print the canonical hash of FILE (what signatures cover)."""
    from .policy import read_file

    click.echo(read_file(file).hash)


@policy.command("sign")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--key", "key_path", required=True, type=click.Path(dir_okay=False), help="Ed25519 private key (PEM)."
)
@click.option("--signer", required=True, help="The signing party, e.g. provider or customer.")
@click.option("--out", type=click.Path(dir_okay=False), help="Signature file (default FILE.sig).")
def policy_sign(file: str, key_path: str, signer: str, out: str | None) -> None:
    """Add SIGNER's Ed25519 signature of FILE's canonical hash to FILE.sig."""
    from .policy import load_policy, read_file
    from .policy.signing import load_private_key, sign, signature_path

    load_policy(file)  # never sign a policy that does not compile
    doc = read_file(file)
    target = out or str(signature_path(file))
    data = sign(doc, load_private_key(key_path), signer, target)
    click.echo(
        f"signed {doc.document.name} {doc.hash} as {signer}; {len(data['signatures'])} signature(s) in {target}"
    )


@policy.command("verify")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--sig", type=click.Path(dir_okay=False), help="Signature file (default FILE.sig).")
@click.option(
    "--trust", multiple=True, help="NAME=PUBLIC_KEY_FILE: the key trusted for a signer (repeatable)."
)
@click.option(
    "--require",
    "required",
    default="",
    help="Comma-separated signers that must have signed, e.g. provider,customer.",
)
def policy_verify(file: str, sig: str | None, trust: tuple[str, ...], required: str) -> None:
    """Check FILE's signatures; exit 4 when a required one is missing or does not verify."""
    from .policy import read_file
    from .policy.signing import check_signatures, load_public_key, require_signers, signature_path

    doc = read_file(file)
    sig_path = sig or str(signature_path(file))
    trusted = {name: load_public_key(path) for name, path in _parse_attrs(trust).items()}
    for status in check_signatures(doc, sig_path, trusted):
        detail = f" — {status.detail}" if status.detail else ""
        click.echo(f"{status.signer:<12} {status.status:<10} {status.key_id or '-'}{detail}")
    need = [n.strip() for n in required.split(",") if n.strip()]
    if need:
        require_signers(doc, sig_path, need, trusted)
        click.echo(f"ok: signed by {', '.join(need)}")


# ---------------------------------------------------------------- keys


@main.group(cls=_Group)
def keys() -> None:
    """Signing keys and API keys."""


@keys.command("new")
@click.argument("name")
@click.option("--out", default="keys", show_default=True, type=click.Path(file_okay=False))
def keys_new(name: str, out: str) -> None:
    """Create an Ed25519 key pair NAME.key / NAME.pub in --out."""
    from .policy.signing import key_id, load_public_key, new_keypair

    private, public = new_keypair(out, name)
    click.echo(f"wrote {private} (private, mode 0600) and {public}; key id {key_id(load_public_key(public))}")


# ---------------------------------------------------------------- serve


@main.command()
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@click.option("--policy", type=click.Path(dir_okay=False), default=None)
@click.option(
    "--upstream", multiple=True, help="NAME=BASE_URL: an OpenAI-compatible upstream serving every model."
)
@click.option("--classifier", default=None)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    policy: str | None,
    upstream: tuple[str, ...],
    classifier: str | None,
) -> None:
    """Serve the decision API, the gateway and the review UI."""
    import uvicorn

    from .api import create_app

    settings = _settings(
        ctx, host=host, port=port, policy_path=policy, upstreams=list(upstream) or None, classifier=classifier
    )
    from .gateway.logs import configure_json_logging

    configure_json_logging(settings.log_level.upper())
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        loop="uvloop",
        http="httptools",
    )
