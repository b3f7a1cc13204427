"""CLI commands of the ledger: ``redline audit …``, ``redline attest …``, ``redline witness …``.

Store and keys come from options or the environment: ``--database-url``
(``REDLINE_DATABASE_URL``, default SQLite in the data dir) and ``--data-dir``
(``REDLINE_DATA_DIR``). Exit codes: 0 ok, 2 usage, 5 store unavailable,
6 verification failed (the first bad index and the reason are printed).
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from redline.errors import LedgerVerifyError, RedlineError, UsageError

T = TypeVar("T")

_DB = click.option(
    "--database-url",
    envvar="REDLINE_DATABASE_URL",
    default=None,
    help="sqlite:///path or postgresql://… [env REDLINE_DATABASE_URL; default: SQLite in the data dir]",
)
_DATA = click.option(
    "--data-dir",
    envvar="REDLINE_DATA_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="where keys and the SQLite file live [env REDLINE_DATA_DIR]",
)
_LOGKEY = click.option(
    "--log-key",
    default=None,
    help="the log's verifier key (name+hash+base64) or a file holding it [default: <data dir>/keys/log.vkey]",
)
_WITKEY = click.option(
    "--witness-key", "witness_keys", multiple=True, help="a trusted witness vkey or key file (repeat)"
)
_QUORUM = click.option(
    "--quorum", default=0, show_default=True, help="witness co-signatures the latest checkpoint needs"
)


def _data_dir(data_dir: Path | None) -> Path:
    from redline.store import default_data_dir

    return data_dir if data_dir is not None else default_data_dir()


def _url(database_url: str | None, data_dir: Path | None) -> str:
    if database_url:
        return database_url
    return f"sqlite:///{_data_dir(data_dir) / 'redline.db'}"


def _run(fn: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine, turning RedlineError into its message and exit code."""
    try:
        return asyncio.run(fn())
    except LedgerVerifyError as exc:
        d = exc.details
        click.echo(
            f"VERIFICATION FAILED at index {d.get('index')}: {d.get('reason')}: {exc.message}", err=True
        )
        evidence = getattr(exc, "evidence", None)
        if evidence is not None:
            click.echo(json.dumps({"fork_evidence": evidence.as_dict()}, indent=1), err=True)
        sys.exit(6)
    except RedlineError as exc:
        click.echo(f"error: {exc.code}: {exc.message}", err=True)
        sys.exit(exc.exit_code)


def _log_verifier(log_key: str | None, data_dir: Path | None) -> Any:
    from redline.ledger.note import NoteError
    from redline.ledger.witness import load_verifiers

    value = log_key or str(_data_dir(data_dir) / "keys" / "log.vkey")
    try:
        found = load_verifiers([value])
    except NoteError as exc:
        raise UsageError(f"bad log key: {exc.message}") from exc
    if len(found) != 1:
        raise UsageError("give exactly one log verifier key")
    return found[0]


def _witnesses(values: tuple[str, ...]) -> list[Any]:
    from redline.ledger.note import NoteError
    from redline.ledger.witness import load_verifiers

    try:
        return load_verifiers(list(values))
    except NoteError as exc:
        raise UsageError(f"bad witness key: {exc.message}") from exc


def _as_verify_error(exc: RedlineError) -> LedgerVerifyError:
    return LedgerVerifyError(
        exc.message, index=exc.details.get("index"), reason=exc.details.get("reason", exc.code)
    )


# --------------------------------------------------------------------------- audit


@click.group()
def audit() -> None:
    """Verify, prove, export and checkpoint the audit log."""


@audit.command("verify")
@click.argument("bundle", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_DB
@_DATA
@_LOGKEY
@_WITKEY
@_QUORUM
@click.option(
    "--checkpoint",
    "presented",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="a signed checkpoint you were shown elsewhere (e.g. a witness's); a mismatch is a fork",
)
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
def verify_cmd(
    bundle: Path | None,
    database_url: str | None,
    data_dir: Path | None,
    log_key: str | None,
    witness_keys: tuple[str, ...],
    quorum: int,
    presented: tuple[Path, ...],
    as_json: bool,
) -> None:
    """Recompute the whole tree and check every checkpoint and co-signature.

    With BUNDLE, verify an exported bundle offline using only public keys.
    """

    async def go() -> dict[str, Any]:
        from redline.ledger.note import NoteError

        log = _log_verifier(log_key, data_dir)
        wit = _witnesses(witness_keys)
        if bundle is not None:
            from redline.ledger.bundle import verify_bundle

            try:
                data = json.loads(bundle.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise UsageError(f"{bundle} is not JSON") from exc
            res = verify_bundle(data, log, wit, quorum)
            return {
                "bundle": str(bundle),
                "checkpoint_size": res.checkpoint.size,
                "entries": len(res.entries),
                "full": res.full,
                "witnesses": list(res.witnesses),
            }
        from redline.ledger.verify import verify_store
        from redline.store import open_store

        store = await open_store(_url(database_url, data_dir))
        try:
            notes = [p.read_bytes() for p in presented]
            try:
                report = await verify_store(store, log, wit, quorum, presented=notes)
            except NoteError as exc:
                raise _as_verify_error(exc) from exc
            return report.as_dict()
        finally:
            await store.close()

    result = _run(go)
    if as_json:
        click.echo(json.dumps(result, indent=1, sort_keys=True))
    else:
        click.echo("OK " + " ".join(f"{k}={v}" for k, v in result.items()))


@audit.command("prove")
@click.option("--index", type=int, default=None, help="prove that entry N is in the tree")
@click.option(
    "--consistency", nargs=2, type=int, default=None, help="prove tree size A is a prefix of size B"
)
@click.option("--size", type=int, default=None, help="tree size for --index [default: latest checkpoint]")
@_DB
@_DATA
def prove_cmd(
    index: int | None,
    consistency: tuple[int, int] | None,
    size: int | None,
    database_url: str | None,
    data_dir: Path | None,
) -> None:
    """Print an inclusion or consistency proof (hex hashes) and check it before printing."""
    if (index is None) == (consistency is None):
        click.echo("error: give exactly one of --index N or --consistency A B", err=True)
        sys.exit(2)

    async def go() -> dict[str, Any]:
        from redline.ledger.bundle import load_tree
        from redline.ledger.merkle import proof_bytes, verify_consistency, verify_inclusion
        from redline.store import open_store

        store = await open_store(_url(database_url, data_dir))
        try:
            latest = await store.latest_checkpoint()
            top = size if size is not None else (latest.size if latest else await store.log_size())
            if consistency is not None:
                top = max(top, consistency[1])
            if top > await store.log_size():
                raise UsageError(f"the log has fewer than {top} entries")
            tree = await load_tree(store, top)
            if index is not None:
                if not 0 <= index < top:
                    raise UsageError(f"index {index} is not in a tree of size {top}")
                proof = tree.inclusion_proof(index, top)
                ok = verify_inclusion(index, top, tree.leaf(index), proof, tree.root(top))
                out: dict[str, Any] = {"index": index, "size": top, "leaf_hash": tree.leaf(index).hex()}
            else:
                assert consistency is not None
                a, b = consistency
                if not 0 <= a <= b:
                    raise UsageError("need 0 <= A <= B")
                proof = tree.consistency_proof(a, b)
                ok = verify_consistency(a, b, tree.root(a), tree.root(b), proof)
                out = {"first": a, "second": b, "first_root": tree.root(a).hex()}
                top = b
            out.update(
                root=tree.root(top).hex(),
                proof=[h.hex() for h in proof],
                bytes=proof_bytes(proof),
                verified=ok,
            )
            signed = {cp.size: cp for cp in await store.checkpoints()}
            if top in signed:
                out["checkpoint"] = signed[top].note.decode()
                if signed[top].root != tree.root(top):
                    raise LedgerVerifyError(
                        "the signed checkpoint does not match the entries",
                        index=None,
                        reason="checkpoint_root_mismatch",
                    )
            return out
        finally:
            await store.close()

    click.echo(json.dumps(_run(go), indent=1))


@audit.command("export")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--start", type=int, default=0, show_default=True)
@click.option("--end", type=int, default=None, help="[default: latest checkpoint size]")
@_DB
@_DATA
def export_cmd(
    out: Path, start: int, end: int | None, database_url: str | None, data_dir: Path | None
) -> None:
    """Write a portable bundle (entries, checkpoints, co-signatures, proofs) to OUT."""

    async def go() -> dict[str, Any]:
        from redline.ledger.bundle import export_bundle
        from redline.store import open_store

        log = _log_verifier(None, data_dir)
        store = await open_store(_url(database_url, data_dir))
        try:
            return await export_bundle(store, log.vkey(), start=start, end=end)
        finally:
            await store.close()

    data = _run(go)
    out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    click.echo(
        f"wrote {out}: {len(data['entries'])} entries, checkpoint size {data['checkpoints'][-1]['size']}"
    )


@audit.command("checkpoint")
@_DB
@_DATA
@click.option("--origin", default=None, help="log name for a new key [default: redline.local/<random>]")
def checkpoint_cmd(database_url: str | None, data_dir: Path | None, origin: str | None) -> None:
    """Sign and store a checkpoint of the current log (creates the log key on first use)."""

    async def go() -> bytes:
        from redline.ledger.log import Ledger
        from redline.store import open_store

        store = await open_store(_url(database_url, data_dir))
        try:
            ledger = await Ledger.open(store, _data_dir(data_dir), origin=origin)
            try:
                return await ledger.checkpoint()
            finally:
                await ledger.close()
        finally:
            await store.close()

    click.echo(_run(go).decode(), nl=False)


# --------------------------------------------------------------------------- attest


def _time(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        pass
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is neither epoch seconds nor ISO 8601") from exc
    if dt.tzinfo is None:
        raise click.BadParameter(f"{value!r} needs a timezone (e.g. 2026-01-01T00:00:00Z)")
    return dt.timestamp()


@click.group()
def attest() -> None:
    """Signed, content-free attestation reports and their verification."""


@attest.command("create")
@click.option(
    "--from", "t_from", required=True, help="start (ISO 8601 with zone, or epoch seconds), inclusive"
)
@click.option("--to", "t_to", required=True, help="end, exclusive")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@_DB
@_DATA
def attest_create(
    t_from: str, t_to: str, out: Path | None, database_url: str | None, data_dir: Path | None
) -> None:
    """Count decisions, red-line blocks, holds and approvals in [FROM, TO) under the latest checkpoint."""
    a, b = _time(t_from), _time(t_to)

    async def go() -> bytes:
        from redline.ledger.attest import create_report
        from redline.ledger.keys import load_or_create
        from redline.store import open_store

        keys = load_or_create(_data_dir(data_dir), create=False)
        store = await open_store(_url(database_url, data_dir))
        try:
            return await create_report(store, keys.signer, a, b)
        finally:
            await store.close()

    report = _run(go)
    if out is None:
        click.echo(report.decode(), nl=False)
    else:
        out.write_bytes(report)
        click.echo(f"wrote {out}")


@attest.command("verify")
@click.argument("report", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_DATA
@_LOGKEY
@_WITKEY
@_QUORUM
def attest_verify(
    report: Path,
    bundle: Path,
    data_dir: Path | None,
    log_key: str | None,
    witness_keys: tuple[str, ...],
    quorum: int,
) -> None:
    """Recompute REPORT's counts from the entries BUNDLE proves; exit 6 if they differ."""

    async def go() -> dict[str, Any]:
        from redline.ledger.attest import verify_report

        log = _log_verifier(log_key, data_dir)
        try:
            data = json.loads(bundle.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise UsageError(f"{bundle} is not JSON") from exc
        body, _ = verify_report(report.read_bytes(), data, log, _witnesses(witness_keys), quorum)
        return body

    body = _run(go)
    click.echo(f"OK report over checkpoint {body['checkpoint']['size']}, {body['entries']} entries")
    click.echo(json.dumps(body["counts"], indent=1, sort_keys=True))


# --------------------------------------------------------------------------- witness


def _witness_dir(witness_dir: Path | None, data_dir: Path | None) -> Path:
    return witness_dir if witness_dir is not None else _data_dir(data_dir) / "witness"


_WDIR = click.option(
    "--witness-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="witness key and state [default: <data dir>/witness]",
)


@click.group()
def witness() -> None:
    """Run a witness: co-sign the log's checkpoints after checking consistency."""


@witness.command("init")
@click.option("--name", required=True, help="the witness's key name, e.g. witness.example.org/w1")
@_WDIR
@_DATA
def witness_init(name: str, witness_dir: Path | None, data_dir: Path | None) -> None:
    """Create the witness key (cosignature/v1, Ed25519) and print its verifier key."""

    async def go() -> str:
        from redline.ledger.note import SIG_COSIGNATURE_V1, NoteError, Signer

        d = _witness_dir(witness_dir, data_dir)
        key = d / "witness.key"
        if key.exists():
            raise UsageError(f"{key} exists; refusing to overwrite a witness key")
        try:
            signer = Signer.generate(name, SIG_COSIGNATURE_V1)
        except NoteError as exc:
            raise UsageError(exc.message) from exc
        from redline.ledger.keys import write_new_file

        write_new_file(key, signer.skey() + "\n")
        write_new_file(d / "witness.vkey", signer.verifier().vkey() + "\n", 0o644)
        return signer.verifier().vkey()

    click.echo(_run(go))


@witness.command("keys")
@_WDIR
@_DATA
def witness_keys_cmd(witness_dir: Path | None, data_dir: Path | None) -> None:
    """Print the witness's verifier key (give it to auditors)."""

    async def go() -> str:
        from redline.ledger.witness import load_signer

        return str(load_signer(_witness_dir(witness_dir, data_dir) / "witness.key").verifier().vkey())

    click.echo(_run(go))


@witness.command("cosign")
@_DB
@_DATA
@_WDIR
@_LOGKEY
@click.option(
    "--note",
    "note_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="co-sign this checkpoint file instead of the store's latest (offline mode)",
)
@click.option(
    "--proof",
    "proof_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="with --note: JSON list of hex/base64 hashes proving consistency from the witnessed size",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None)
def witness_cosign(
    database_url: str | None,
    data_dir: Path | None,
    witness_dir: Path | None,
    log_key: str | None,
    note_file: Path | None,
    proof_file: Path | None,
    out: Path | None,
) -> None:
    """Check the log's latest checkpoint against the witness state and co-sign it.

    Online (default): reads the latest checkpoint and a consistency proof from the
    store and stores the co-signature there. Offline: --note FILE [--proof FILE].
    """

    async def go() -> bytes:
        from redline.ledger.witness import Witness, load_signer

        d = _witness_dir(witness_dir, data_dir)
        log = _log_verifier(log_key, data_dir)
        wit = Witness(load_signer(d / "witness.key"), log, d / "state.json")
        if note_file is not None:
            proof: list[bytes] = []
            if proof_file is not None:
                proof = [_hash(h) for h in json.loads(proof_file.read_text(encoding="utf-8"))]
            return wit.cosign(note_file.read_bytes(), proof)
        from redline.ledger.bundle import load_tree
        from redline.store import open_store

        store = await open_store(_url(database_url, data_dir))
        try:
            latest = await store.latest_checkpoint()
            if latest is None:
                raise UsageError("the log has no checkpoint to co-sign")
            state = wit.state()
            proof = []
            if state is not None and 0 < state.size < latest.size:
                tree = await load_tree(store, latest.size)
                proof = tree.consistency_proof(state.size, latest.size)
            cosigned = wit.cosign(latest.note, proof)
            await store.put_cosignature(latest.size, wit.signer.name, cosigned, time.time())
            return cosigned
        finally:
            await store.close()

    cosigned = _run(go)
    if out is not None:
        out.write_bytes(cosigned)
    click.echo(cosigned.decode(), nl=False)


def _hash(value: str) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = base64.b64decode(value)
    if len(raw) != 32:
        raise UsageError("proof hashes must be 32 bytes (hex or base64)")
    return raw
