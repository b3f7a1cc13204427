"""The storage contract: every test runs against SQLite and PostgreSQL (see conftest)."""

from __future__ import annotations

import asyncio
import dataclasses
import os

import pytest

from redline.errors import ConflictError, LedgerUnavailableError, NotFoundError, StoreError
from redline.store import (
    Hold,
    LeafRecord,
    Store,
    StoredLeaf,
    default_database_url,
    open_store,
)
from redline.store.appender import GroupAppender
from redline.store.migrations import latest_version

DAY = 86_400.0
T0 = 1_750_000_000.0  # 2025-06-15T15:06:40Z


def leaf(n: int, *, cipher: bool = False) -> LeafRecord:
    entry = f"entry-{n}".encode() + bytes([0, 255, n % 256])  # not valid UTF-8 on purpose
    digest = n.to_bytes(32, "big")
    return LeafRecord(entry, digest, "decision", T0 + n, b"\x00ct" + entry if cipher else None)


def hold(hold_id: str, *, tenant: str = "acme", created_at: float = T0, expires_in: float = 3600.0) -> Hold:
    return Hold(
        id=hold_id,
        tenant=tenant,
        app="app1",
        principal=f"{tenant}/app1/alice",
        kind="tool_call",
        payload='{"tool": "send_email", "args": {"to": "x@example.org"}}',
        decision='{"verdict": "review"}',
        required_count=2,
        roles=("approver", "security"),
        min_deliberation_s=30.0,
        created_at=created_at,
        expires_at=created_at + expires_in,
    )


def assert_dense(leaves: list[StoredLeaf], size: int) -> None:
    assert [x.index for x in leaves] == list(range(size))


# --------------------------------------------------------------------------- lifecycle


async def test_open_applies_migrations_and_ping(store: Store, backend: str) -> None:
    assert store.backend == backend
    assert await store.schema_version() == latest_version()
    await store.ping()


async def test_reopen_keeps_data_and_does_not_remigrate(store: Store, store_url: str) -> None:
    await store.append_leaves([leaf(0)])
    again = await open_store(store_url)
    try:
        assert await again.schema_version() == latest_version()
        assert await again.log_size() == 1
        assert (await again.read_leaves(0, 1))[0].entry == leaf(0).entry
    finally:
        await again.close()


async def test_context_manager_closes(store_url: str) -> None:
    async with await open_store(store_url) as opened:
        await opened.ping()
    with pytest.raises(StoreError):
        await opened.ping()


async def test_closed_store_raises_store_error(store_url: str) -> None:
    opened = await open_store(store_url)
    await opened.close()
    await opened.close()  # idempotent
    for call in (opened.log_size(), opened.append_leaves([leaf(0)]), opened.get_user("x")):
        with pytest.raises(StoreError) as info:
            await call
        assert info.value.code == "store_unavailable"


async def test_memory_sqlite_url_works() -> None:
    async with await open_store("sqlite:///:memory:") as memory:
        assert await memory.append_leaves([leaf(0), leaf(1)]) == 0
        assert await memory.log_size() == 2


def test_default_database_url(tmp_path: object) -> None:
    assert default_database_url({"REDLINE_DATABASE_URL": "postgresql://h/db"}) == "postgresql://h/db"
    assert default_database_url({"REDLINE_DATA_DIR": "/srv/rl"}) == "sqlite:////srv/rl/redline.db"
    home = os.path.expanduser("~")
    assert default_database_url({}) == f"sqlite:///{home}/.local/share/redline/redline.db"
    assert default_database_url({"XDG_DATA_HOME": "/x"}) == "sqlite:////x/redline/redline.db"


# --------------------------------------------------------------------------- ledger


async def test_append_returns_first_index_and_reads_back_exact_bytes(store: Store) -> None:
    assert await store.log_size() == 0
    assert await store.append_leaves([]) == 0
    assert await store.append_leaves([leaf(0), leaf(1, cipher=True), leaf(2)]) == 0
    assert await store.append_leaves([leaf(3, cipher=True)]) == 3
    assert await store.append_leaves([]) == 4
    assert await store.log_size() == 4
    got = await store.read_leaves(0, 4)
    assert_dense(got, 4)
    assert [g.record() for g in got] == [leaf(0), leaf(1, cipher=True), leaf(2), leaf(3, cipher=True)]
    assert got[1].ciphertext is not None and got[0].ciphertext is None


async def test_read_ranges(store: Store) -> None:
    await store.append_leaves([leaf(i) for i in range(10)])
    assert [x.index for x in await store.read_leaves(3, 6)] == [3, 4, 5]
    assert [x.index for x in await store.read_leaves(8, 100)] == [8, 9]
    assert await store.read_leaves(5, 5) == []
    assert await store.read_leaves(6, 2) == []
    assert await store.read_leaves(10, 20) == []


async def test_iter_leaves_pages(store: Store) -> None:
    await store.append_leaves([leaf(i) for i in range(10)])
    assert [x.index async for x in store.iter_leaves(batch=3)] == list(range(10))
    assert [x.index async for x in store.iter_leaves(2, 7, batch=2)] == [2, 3, 4, 5, 6]


async def test_64_concurrent_appends_are_dense(store: Store) -> None:
    firsts = await asyncio.gather(*(store.append_leaves([leaf(2 * i), leaf(2 * i + 1)]) for i in range(64)))
    assert sorted(firsts) == list(range(0, 128, 2))
    assert await store.log_size() == 128
    got = await store.read_leaves(0, 128)
    assert_dense(got, 128)
    # each batch stayed together, in order
    by_index = {g.index: g for g in got}
    for i, first in enumerate(firsts):
        assert by_index[first].entry == leaf(2 * i).entry
        assert by_index[first + 1].entry == leaf(2 * i + 1).entry


async def test_two_store_objects_append_concurrently(store: Store, store_url: str) -> None:
    other = await open_store(store_url)
    try:

        async def writer(s: Store, base: int) -> list[tuple[int, int]]:
            out = []
            for i in range(25):
                n = base + i
                out.append((await s.append_leaves([leaf(n)]), n))
            return out

        results = await asyncio.gather(
            writer(store, 0), writer(other, 1000), writer(store, 2000), writer(other, 3000)
        )
        assert await store.log_size() == await other.log_size() == 100
        got = await other.read_leaves(0, 100)
        assert_dense(got, 100)
        for pairs in results:
            for index, n in pairs:
                assert got[index].entry == leaf(n).entry
    finally:
        await other.close()


async def test_group_appender_64_concurrent_callers(store: Store) -> None:
    async with GroupAppender(store, max_batch=16, max_wait_ms=1) as appender:
        indices = await asyncio.gather(*(appender.append(leaf(n)) for n in range(64)))
    assert sorted(indices) == list(range(64))
    got = await store.read_leaves(0, 64)
    assert_dense(got, 64)
    for n, index in enumerate(indices):
        assert got[index].entry == leaf(n).entry
    # calls made in order within one tick are committed in that order
    assert indices == sorted(indices)
    assert appender.stats.records == 64 and appender.stats.batches < 64


# --------------------------------------------------------------------------- interior hashes


async def test_subtree_hash_cache(store: Store) -> None:
    assert await store.get_subtree_hashes([(0, 0)]) == {}
    await store.put_subtree_hashes([(1, 0, b"a" * 32), (1, 1, b"b" * 32), (4, 7, b"c" * 32)])
    await store.put_subtree_hashes([])
    got = await store.get_subtree_hashes([(1, 0), (4, 7), (2, 2), (1, 0)])
    assert got == {(1, 0): b"a" * 32, (4, 7): b"c" * 32}
    await store.put_subtree_hashes([(1, 0, b"z" * 32)])
    assert await store.get_subtree_hashes([(1, 0)]) == {(1, 0): b"z" * 32}
    many = [(0, i, i.to_bytes(32, "big")) for i in range(450)]
    await store.put_subtree_hashes(many)
    assert len(await store.get_subtree_hashes([(lvl, i) for lvl, i, _ in many])) == 450


# --------------------------------------------------------------------------- checkpoints


async def test_checkpoints(store: Store) -> None:
    assert await store.latest_checkpoint() is None
    assert await store.checkpoints() == []
    assert await store.put_checkpoint(10, b"r" * 32, b"note10\n", T0) is True
    assert await store.put_checkpoint(3, b"q" * 32, b"note3\n", T0 - 5) is True
    assert await store.put_checkpoint(10, b"r" * 32, b"other note\n", T0 + 1) is False
    with pytest.raises(ConflictError) as info:
        await store.put_checkpoint(10, b"X" * 32, b"forked\n", T0 + 2)
    assert info.value.details["size"] == 10
    assert [c.size for c in await store.checkpoints()] == [3, 10]
    assert [c.size for c in await store.checkpoints(since_size=4)] == [10]
    assert [c.size for c in await store.checkpoints(limit=1)] == [3]
    latest = await store.latest_checkpoint()
    assert latest is not None
    assert (latest.size, latest.root, latest.note, latest.created_at) == (10, b"r" * 32, b"note10\n", T0)


async def test_cosignatures(store: Store) -> None:
    assert await store.cosignatures(10) == []
    assert await store.put_cosignature(10, "witness-b", b"\xe2\x80\x94 b sig\n", T0) is True
    assert await store.put_cosignature(10, "witness-a", b"\xe2\x80\x94 a sig\n", T0 + 1) is True
    assert await store.put_cosignature(10, "witness-a", b"again\n", T0 + 2) is False
    assert await store.put_cosignature(11, "witness-a", b"x\n", T0) is True
    got = await store.cosignatures(10)
    assert [(c.witness, c.note) for c in got] == [
        ("witness-a", b"\xe2\x80\x94 a sig\n"),
        ("witness-b", b"\xe2\x80\x94 b sig\n"),
    ]


# --------------------------------------------------------------------------- holds


async def test_hold_round_trip_and_duplicates(store: Store) -> None:
    h = hold("h1")
    await store.create_hold(h)
    assert await store.get_hold("h1") == h
    assert await store.get_hold("nope") is None
    with pytest.raises(ConflictError):
        await store.create_hold(dataclasses.replace(h, tenant="other"))


async def test_list_holds_filters_and_order(store: Store) -> None:
    await store.create_hold(hold("a", created_at=T0, expires_in=10))
    await store.create_hold(hold("b", created_at=T0 + 1, tenant="other", expires_in=10))
    await store.create_hold(hold("c", created_at=T0 + 2, expires_in=1000))
    await store.transition_hold("c", "pending", "approved", T0 + 3, "bob", "ok")
    assert [h.id for h in await store.list_holds()] == ["c", "b", "a"]
    assert [h.id for h in await store.list_holds(state="pending")] == ["b", "a"]
    assert [h.id for h in await store.list_holds(tenant="acme")] == ["c", "a"]
    assert [h.id for h in await store.list_holds(state="pending", tenant="acme")] == ["a"]
    assert [h.id for h in await store.list_holds(limit=1, offset=1)] == ["b"]
    assert [h.id for h in await store.list_holds(state="pending", expires_before=T0 + 10.5)] == ["a"]
    assert await store.list_holds(state="rejected") == []


async def test_transition_hold_is_compare_and_set(store: Store) -> None:
    await store.create_hold(hold("h1"))
    assert await store.transition_hold("nope", "pending", "approved", T0, "bob", "x") is False
    assert await store.transition_hold("h1", "approved", "rejected", T0, "bob", "x") is False
    released = '{"output": "the text"}'
    assert await store.transition_hold("h1", "pending", "approved", T0 + 5, "bob", "fine", released) is True
    assert await store.transition_hold("h1", "pending", "expired", T0 + 6, "sweeper", "late") is False
    got = await store.get_hold("h1")
    assert got is not None
    assert (got.state, got.resolved_at, got.resolved_by, got.resolution_reason, got.released) == (
        "approved",
        T0 + 5,
        "bob",
        "fine",
        released,
    )


async def test_racing_transitions_have_one_winner(store: Store, store_url: str) -> None:
    other = await open_store(store_url)
    try:
        for n in range(5):
            await store.create_hold(hold(f"h{n}"))
            results = await asyncio.gather(
                store.transition_hold(f"h{n}", "pending", "approved", T0, "a", "approve"),
                other.transition_hold(f"h{n}", "pending", "expired", T0, "b", "expire"),
                other.transition_hold(f"h{n}", "pending", "rejected", T0, "c", "reject"),
                store.transition_hold(f"h{n}", "pending", "cancelled", T0, "d", "cancel"),
            )
            assert sum(results) == 1
    finally:
        await other.close()


async def test_approvals_unique_per_approver(store: Store) -> None:
    await store.create_hold(hold("h1"))
    await store.add_approval("h1", "bob", "approver", "approve", "looks fine", T0 + 2)
    await store.add_approval("h1", "carol", "security", "reject", "no", T0 + 1)
    with pytest.raises(ConflictError):
        await store.add_approval("h1", "bob", "security", "reject", "changed my mind", T0 + 3)
    with pytest.raises(NotFoundError):
        await store.add_approval("missing", "bob", "approver", "approve", "", T0)
    got = await store.approvals("h1")
    assert [(a.approver, a.role, a.decision, a.reason, a.at) for a in got] == [
        ("carol", "security", "reject", "no", T0 + 1),
        ("bob", "approver", "approve", "looks fine", T0 + 2),
    ]
    assert await store.approvals("missing") == []


async def test_concurrent_duplicate_approvals_one_succeeds(store: Store, store_url: str) -> None:
    other = await open_store(store_url)
    try:
        await store.create_hold(hold("h1"))
        results = await asyncio.gather(
            *(s.add_approval("h1", "bob", "approver", "approve", "", T0) for s in (store, other) * 4),
            return_exceptions=True,
        )
        assert sum(r is None for r in results) == 1
        assert all(isinstance(r, ConflictError) for r in results if r is not None)
    finally:
        await other.close()


# --------------------------------------------------------------------------- users, sessions, keys


async def test_users(store: Store) -> None:
    assert await store.get_user("alice") is None
    await store.add_user("bob", "$argon2id$b", ["approver"], "acme", T0)
    await store.add_user("alice", "$argon2id$a", ["admin", "approver"], "acme", T0 + 1)
    with pytest.raises(ConflictError):
        await store.add_user("alice", "x", [], "other")
    alice = await store.get_user("alice")
    assert alice is not None
    assert (alice.password_hash, alice.roles, alice.tenant, alice.created_at) == (
        "$argon2id$a",
        ("admin", "approver"),
        "acme",
        T0 + 1,
    )
    assert [u.name for u in await store.list_users()] == ["alice", "bob"]
    assert await store.update_user("alice", roles=["approver"], password_hash="$new") is True
    assert await store.update_user("alice") is True
    assert await store.update_user("nobody", tenant="x") is False
    alice = await store.get_user("alice")
    assert alice is not None and alice.roles == ("approver",) and alice.password_hash == "$new"


async def test_sessions_and_user_deletion(store: Store) -> None:
    await store.add_user("alice", "h", ["approver"], "acme")
    await store.create_session("tok1", "alice", "csrf1", T0 + 100, T0)
    await store.create_session("tok2", "alice", "csrf2", T0 - 1, T0 - 50)
    with pytest.raises(ConflictError):
        await store.create_session("tok1", "alice", "x", T0, T0)
    s = await store.get_session("tok1")
    assert s is not None and (s.user, s.csrf, s.expires_at, s.created_at) == ("alice", "csrf1", T0 + 100, T0)
    assert await store.get_session("tok2") is not None  # expired sessions are returned
    assert await store.delete_expired_sessions(T0) == 1
    assert await store.get_session("tok2") is None
    assert await store.delete_session("tok1") is True
    assert await store.delete_session("tok1") is False
    await store.create_session("tok3", "alice", "c", T0 + 100, T0)
    assert await store.delete_user("alice") is True
    assert await store.get_session("tok3") is None
    assert await store.get_user("alice") is None
    assert await store.delete_user("alice") is False


async def test_api_keys(store: Store) -> None:
    await store.put_api_key("kh2", "acme", "app2", None, "{}", T0 + 1)
    await store.put_api_key("kh1", "acme", "app1", "alice", '{"purpose": "research"}', T0)
    with pytest.raises(ConflictError):
        await store.put_api_key("kh1", "x", "y", None, "{}", T0)
    k = await store.get_api_key("kh1")
    assert k is not None
    assert (k.tenant, k.app, k.user, k.attributes, k.created_at, k.revoked_at) == (
        "acme",
        "app1",
        "alice",
        '{"purpose": "research"}',
        T0,
        None,
    )
    assert await store.get_api_key("none") is None
    assert [x.key_hash for x in await store.list_api_keys()] == ["kh1", "kh2"]
    assert await store.revoke_api_key("kh1", T0 + 5) is True
    assert await store.revoke_api_key("kh1", T0 + 6) is False
    assert await store.revoke_api_key("none", T0) is False
    k = await store.get_api_key("kh1")
    assert k is not None and k.revoked_at == T0 + 5
    assert len(await store.list_api_keys()) == 2


# --------------------------------------------------------------------------- tokens, counters


async def test_consume_token_single_use(store: Store) -> None:
    assert await store.consume_token("tok-a", T0) is True
    assert await store.consume_token("tok-a", T0 + 1) is False
    assert await store.consume_token("tok-b", T0) is True


async def test_consume_token_single_use_across_stores(store: Store, store_url: str) -> None:
    other = await open_store(store_url)
    try:
        results = await asyncio.gather(*(s.consume_token("shared", T0) for s in (store, other) * 10))
        assert results.count(True) == 1
    finally:
        await other.close()


async def test_distinct_subject_counters(store: Store) -> None:
    c, p = "subjects_per_day", "acme/app/alice"
    assert await store.distinct_subjects(c, p, T0) == 0
    assert await store.distinct_subjects(c, p, T0, including="x") == 1
    await store.observe_subject(c, p, "s1", T0)
    await store.observe_subject(c, p, "s2", T0 + 10)
    await store.observe_subject(c, p, "s2", T0 + 20)
    await store.observe_subject(c, p, "s2", T0 + 5)  # older observation does not move last_seen back
    await store.observe_subject(c, "acme/app/bob", "s9", T0)
    await store.observe_subject("other", p, "s8", T0)
    assert await store.distinct_subjects(c, p, T0) == 2
    assert await store.distinct_subjects(c, p, T0, including="s1") == 2
    assert await store.distinct_subjects(c, p, T0, including="s3") == 3
    assert await store.distinct_subjects(c, p, T0 + 15) == 1
    assert await store.distinct_subjects(c, p, T0 + 15, including="s1") == 2  # s1 is outside the window
    assert await store.distinct_subjects(c, p, T0 + 21) == 0
    assert await store.prune_subjects(T0 + 1) == 3
    assert await store.distinct_subjects(c, p, 0) == 1


# --------------------------------------------------------------------------- stop switch, usage


async def test_stop_switch(store: Store) -> None:
    assert await store.get_stop("acme") is None
    await store.set_stop("acme", True, "alice", "incident 42", T0)
    s = await store.get_stop("acme")
    assert s is not None and (s.on, s.by, s.reason, s.at) == (True, "alice", "incident 42", T0)
    await store.set_stop("acme", False, "bob", "resolved", T0 + 60)
    s = await store.get_stop("acme")
    assert s is not None and (s.on, s.by, s.reason, s.at) == (False, "bob", "resolved", T0 + 60)
    assert await store.get_stop("other") is None


async def test_provider_usage_per_day(store: Store) -> None:
    for at in (T0, T0 + 10, T0 - 5):
        await store.record_provider_use("acme", "app1", "openai", "gpt-x", at)
    await store.record_provider_use("acme", "app1", "openai", "gpt-x", T0 + DAY)
    await store.record_provider_use("acme", "app1", "anthropic", "claude-y", T0)
    rows = await store.provider_usage()
    assert [(r.day, r.vendor, r.model, r.count) for r in rows] == [
        ("2025-06-15", "anthropic", "claude-y", 1),
        ("2025-06-15", "openai", "gpt-x", 3),
        ("2025-06-16", "openai", "gpt-x", 1),
    ]
    assert (rows[1].first_seen, rows[1].last_seen) == (T0 - 5, T0 + 10)
    assert [r.day for r in await store.provider_usage(since=T0 + DAY)] == ["2025-06-16"]


# --------------------------------------------------------------------------- store down


async def test_unreachable_postgres_raises_store_error() -> None:
    with pytest.raises(StoreError) as info:
        await open_store("postgresql://redline:redline@127.0.0.1:1/redline_test")
    assert info.value.code == "store_unavailable"


async def test_unopenable_sqlite_raises_store_error(tmp_path: object) -> None:
    with pytest.raises(StoreError):
        await open_store("sqlite:///dev/null/not-a-dir/redline.db")


async def test_appender_on_dead_store_fails_every_caller(store_url: str) -> None:
    dead = await open_store(store_url)
    await dead.close()
    appender = GroupAppender(dead, max_wait_ms=0)
    results = await asyncio.gather(*(appender.append(leaf(n)) for n in range(10)), return_exceptions=True)
    assert all(isinstance(r, LedgerUnavailableError) for r in results)
    first = results[0]
    assert isinstance(first, LedgerUnavailableError)
    assert first.code == "ledger_unavailable" and first.retry_after is not None and first.status == 503
    await appender.close()


# --------------------------------------------------------------------------- migrations, API


async def test_concurrent_opens_migrate_once(store_url: str) -> None:
    stores = await asyncio.gather(*(open_store(store_url) for _ in range(4)))
    try:
        assert {await s.schema_version() for s in stores} == {latest_version()}
        assert await stores[0].log_size() == 0
        await stores[1].append_leaves([leaf(0)])
        assert await stores[2].log_size() == 1
    finally:
        for s in stores:
            await s.close()


def test_public_api_is_pinned() -> None:
    import redline.store as package

    assert set(package.__all__) == {
        "HOLD_KINDS",
        "HOLD_STATES",
        "ApiKey",
        "Approval",
        "Checkpoint",
        "Cosignature",
        "Hold",
        "HoldKind",
        "HoldState",
        "LeafRecord",
        "ProviderUsage",
        "Session",
        "StopState",
        "Store",
        "StoredLeaf",
        "User",
        "default_data_dir",
        "default_database_url",
        "open_store",
    }
    assert all(hasattr(package, name) for name in package.__all__)


async def test_unknown_url_scheme_is_a_config_error() -> None:
    from redline.errors import ConfigError

    with pytest.raises(ConfigError):
        await open_store("mysql://x/y")


async def test_malformed_input_is_refused_before_the_database(store: Store) -> None:
    with pytest.raises(ValueError):
        await store.append_leaves([leaf(0), LeafRecord(b"x", b"short", "decision", T0)])
    with pytest.raises(ValueError):
        await store.append_leaves([LeafRecord("text", b"h" * 32, "decision", T0)])  # type: ignore[arg-type]
    assert await store.log_size() == 0
    await store.create_hold(hold("h1"))
    with pytest.raises(ValueError):
        await store.create_hold(dataclasses.replace(hold("h2"), kind="bogus"))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await store.transition_hold("h1", "pending", "aproved", T0, "bob", "typo")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await store.add_approval("h1", "bob", "approver", "maybe", "", T0)  # type: ignore[arg-type]
    assert await store.get_hold("h2") is None
    assert await store.approvals("h1") == []


async def test_malformed_record_fails_only_its_own_appender_caller(store: Store) -> None:
    async with GroupAppender(store) as appender:
        good = [asyncio.create_task(appender.append(leaf(n))) for n in range(3)]
        bad = asyncio.create_task(appender.append(LeafRecord(b"x", b"", "decision", T0)))
        assert sorted(await asyncio.gather(*good)) == [0, 1, 2]
        with pytest.raises(ValueError):
            await bad
