"""Gateway benchmark: straight to an upstream stand-in vs through redline vs through LiteLLM's proxy.

    .venv/bin/python bench/gateway.py [--traffic varied|conversations|fixed] [--seconds 3]
        [--repeats 2] [--concurrency 1,32,128] [--litellm /tmp/litellm-venv/bin/litellm]
        [--no-litellm] [--classifier auto] [--redline-src DIR] [--json]

Method (shared/BENCHMARKING.md): the process under test (redline or LiteLLM, one
process) is pinned to core 1; the closed-loop aiohttp load generator and the
upstream stand-in (aiohttp, OpenAI wire; streams 5 chunks + [DONE]) are pinned to
core 0. Each cell is measured ``--repeats`` times, alternating with the direct
baseline in the same phase. "Added" = through-proxy minus direct, same percentile.
redline runs the full pipeline: API key check, policy, classifier (as configured;
the version used is printed), ledger (SQLite, durable) on input and output.
LiteLLM runs with no guardrails and no database.

Traffic. ``varied`` (the default) sends every single-turn request of an allowed
category in the corpus's dev split, and the stand-in answers each with one of the
dev split's model outputs of an allowed category, picked by the prompt's hash and
numbered (" (ref N)"), so no two answers are the same text and no cache can answer
them. All workers of a target share one cursor through the requests, carried from
run to run, so no request is sent twice before all were sent once. The classifier
has never trained on any of these texts. Requests that the policy blocks (a false
deny or a review of an allowed text) come back as 403 in a few ms without an
upstream call; they count in req/s and are reported as "blocked".
``conversations`` walks every conversation of an allowed category in the dev split
turn by turn, as a chat client does: one request per user turn, carrying the turns
before it (the dev row's own assistant turns stand for the model's answers); the
stand-in answers as for ``varied``. ``fixed`` sends one prompt and gets one
answer, as earlier versions of this bench did: the best case when the classifier
is sure of both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from redline.classify.base import CATEGORIES, RED_LINES, REVIEW_CATEGORIES
from redline.classify.train import read_rows

MODEL = "bench-model"
PROMPT = "Summarise the maintenance schedule for the trucks in two sentences."
ANSWER = "The trucks need oil every 5000 km. Tyres are changed in May."
DEV = Path(__file__).resolve().parent.parent / "data" / "corpus" / "dev.jsonl"
# The taxonomy's allowed categories: everything that is neither a red line nor a review category.
ALLOWED = set(CATEGORIES) - set(RED_LINES) - set(REVIEW_CATEGORIES)


Messages = list[dict[str, str]]


def load_traffic(kind: str, dev: Path = DEV) -> tuple[list[Messages], list[str]]:
    """(requests' messages, answers) for the load generator and the stand-in."""
    if kind == "fixed":
        return [[{"role": "user", "content": PROMPT}]], [ANSWER]
    rows = read_rows(dev)
    allowed = [r for r in rows if r["category"] in ALLOWED and "output" not in r.get("tags", [])]
    answers = [
        r["text"]
        for r in rows
        if r["category"] in ALLOWED and "output" in r.get("tags", []) and not r.get("context")
    ]
    if kind == "varied":
        requests = [[{"role": "user", "content": r["text"]}] for r in allowed if not r.get("context")]
    else:  # conversations, walked turn by turn: one request per user turn, with what came before
        requests = []
        for r in allowed:
            if not r.get("context"):
                continue
            turns = [{"role": m["role"], "content": m["content"]} for m in r["context"]]
            turns.append({"role": "user", "content": r["text"]})
            requests += [turns[: i + 1] for i, m in enumerate(turns) if m["role"] == "user"]
    if not requests or not answers:
        raise SystemExit(f"{dev}: no allowed requests or answers for {kind} traffic")
    return requests, answers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- child processes -----------------------------------------------------------------


def serve_standin(port: int, traffic: str) -> None:
    import uvloop

    from redline.gateway.standin import Script, StandIn

    _, answers = load_traffic(traffic)

    async def main() -> None:
        # Numbered: real answers are not repeated word for word, so no cache may answer them.
        s = StandIn(Script(text=answers[0], texts=tuple(answers), numbered=traffic != "fixed"), record=False)
        await s.start(port)
        await asyncio.Event().wait()

    uvloop.run(main())


def serve_redline(port: int, upstream: str, data_dir: str, key_file: str, classifier: str) -> None:
    import uvicorn

    from redline.api import create_app
    from redline.gateway.keys import issue_key
    from redline.settings import Settings
    from redline.store import open_store

    settings = Settings(
        data_dir=Path(data_dir),
        upstreams=[f"bench={upstream}"],
        require_api_key=True,
        classifier=classifier,
        record=True,
        port=port,
        log_level="warning",
    )

    async def make_key() -> str:
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        store = await open_store(settings.resolved_database_url())
        key, _ = await issue_key(store, tenant="bench", app="bench")
        await store.close()
        return key

    Path(key_file).write_text(asyncio.run(make_key()))
    app = create_app(settings)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
    )


# ---- load generator --------------------------------------------------------------------


async def run_load(
    url: str,
    key: str,
    concurrency: int,
    seconds: float,
    stream: bool,
    requests: list[Messages],
    start: int = 0,
) -> dict[str, Any]:
    bodies = [json.dumps({"model": MODEL, "messages": m, "stream": stream}).encode() for m in requests]
    headers = {"content-type": "application/json", "authorization": f"Bearer {key}"}
    lat: list[float] = []
    ttft: list[float] = []
    errors = 0
    blocked = 0
    conn = aiohttp.TCPConnector(limit=concurrency + 4)
    async with aiohttp.ClientSession(connector=conn) as session:
        # Warm-up: open connections (a short text, not one of the measured ones). A redline server
        # loaded its classifier at start (services.preload), so no measured request pays for that.
        warm = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": PROMPT}]}).encode()
        for _ in range(3):
            async with session.post(url, data=warm, headers=headers) as r:
                await r.read()
        stop = time.perf_counter() + seconds

        # One cursor for all workers, carried from run to run: no request is sent twice until all
        # have been sent once (a conversation's turns may then be in flight at once at C > 1).
        cursor = start

        async def worker() -> None:
            nonlocal errors, blocked, cursor
            while time.perf_counter() < stop:
                body = bodies[cursor % len(bodies)]
                cursor += 1
                t0 = time.perf_counter()
                try:
                    async with session.post(url, data=body, headers=headers) as r:
                        if stream:
                            first = None
                            async for line in r.content:
                                if first is None and b'"content":"' in line and b'"content":""' not in line:
                                    first = time.perf_counter() - t0
                            if first is not None:
                                ttft.append(first)
                        else:
                            await r.read()
                        if r.status == 403:
                            blocked += 1
                        elif r.status != 200:
                            errors += 1
                            continue
                except aiohttp.ClientError:
                    errors += 1
                    continue
                lat.append(time.perf_counter() - t0)

        t_start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t_start
    lat.sort()
    ttft.sort()

    def pct(xs: list[float], p: float) -> float:
        return xs[min(len(xs) - 1, int(p * len(xs)))] * 1000 if xs else float("nan")

    return {
        "n": len(lat),
        "errors": errors,
        "blocked": blocked,
        "rps": len(lat) / elapsed,
        "next": cursor,
        "p50": pct(lat, 0.50),
        "p99": pct(lat, 0.99),
        "ttft_p50": pct(ttft, 0.50),
        "ttft_p99": pct(ttft, 0.99),
    }


def wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"process exited early: {proc.args}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"port {port} did not open: {proc.args}")


def spawn(
    cpu: str, args: list[str], env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    cmd = (["taskset", "-c", cpu] if shutil.which("taskset") else []) + args
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - lives as long as the child
    return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def cpu_ms(pid: int) -> float:
    """User+system CPU time of a process, in ms (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--traffic", choices=("varied", "conversations", "fixed"), default="varied")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--concurrency", default="1,32,128")
    ap.add_argument("--litellm", default="/tmp/litellm-venv/bin/litellm")
    ap.add_argument("--no-litellm", action="store_true")
    ap.add_argument("--classifier", default="auto")
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--redline-src",
        type=Path,
        help="run redline from this src/ folder, or a checkout holding one, to compare two versions with one harness",
    )
    ap.add_argument("--serve-standin", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--serve-redline", nargs=5, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve_standin:
        return serve_standin(int(a.serve_standin[0]), a.serve_standin[1])
    if a.serve_redline:
        port, upstream, data_dir, key_file, classifier = a.serve_redline
        return serve_redline(int(port), upstream, data_dir, key_file, classifier)

    if a.redline_src:
        # A checkout's root is taken as its src/ folder; anything else without the package
        # would silently run this checkout's redline instead.
        src = a.redline_src.resolve()
        if (src / "src" / "redline").is_dir():
            src = src / "src"
        if not (src / "redline" / "__init__.py").is_file():
            sys.exit(f"--redline-src {a.redline_src}: no redline package there or in its src/")
        a.redline_src = src
    if shutil.which("taskset"):
        os.sched_setaffinity(0, {0})
    tmp = Path(tempfile.mkdtemp(prefix="redline-bench-"))
    py = sys.executable
    procs: list[subprocess.Popen[bytes]] = []
    try:
        sp = free_port()
        requests, answers = load_traffic(a.traffic)
        procs.append(spawn("0", [py, __file__, "--serve-standin", str(sp), a.traffic]))
        wait_port(sp, 30, procs[-1])
        upstream = f"http://127.0.0.1:{sp}/v1"
        rp = free_port()
        key_file = tmp / "key"
        redline = spawn(
            "1",
            [
                py,
                __file__,
                "--serve-redline",
                str(rp),
                upstream,
                str(tmp / "data"),
                str(key_file),
                a.classifier,
            ],
            env={
                **os.environ,
                "HF_HUB_OFFLINE": "1",
                **({"PYTHONPATH": str(a.redline_src)} if a.redline_src else {}),
            },
            log=tmp / "redline.log",
        )
        procs.append(redline)
        wait_port(rp, 180, redline)
        key = key_file.read_text().strip()
        targets = {
            "direct": (upstream + "/chat/completions", "none"),
            "redline": (f"http://127.0.0.1:{rp}/v1/chat/completions", key),
        }
        litellm = None
        if not a.no_litellm and Path(a.litellm).exists():
            lp = free_port()
            master = "sk-bench-" + os.urandom(16).hex()
            cfg = tmp / "litellm.yaml"
            cfg.write_text(
                "model_list:\n"
                f"  - model_name: {MODEL}\n"
                "    litellm_params:\n"
                f"      model: openai/{MODEL}\n"
                f"      api_base: {upstream}\n"
                "      api_key: none\n"
            )
            env = {
                **os.environ,
                "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                "LITELLM_LOG": "ERROR",
                "LITELLM_TELEMETRY_DISABLED": "true",
                # LiteLLM refuses to start unauthenticated; a master key (no DB) is its cheapest auth,
                # comparable to redline's cached API-key check.
                "LITELLM_MASTER_KEY": master,
            }
            litellm = spawn(
                "1",
                [a.litellm, "--config", str(cfg), "--port", str(lp), "--host", "127.0.0.1"],
                env=env,
                log=tmp / "litellm.log",
            )
            procs.append(litellm)
            wait_port(lp, 240, litellm)
            targets["litellm"] = (f"http://127.0.0.1:{lp}/v1/chat/completions", master)

        # Which classifier did redline load? Ask it through the decision API.
        async def probe() -> str:
            async with (
                aiohttp.ClientSession() as s,
                s.post(
                    f"http://127.0.0.1:{rp}/v1/check",
                    json={"text": PROMPT},
                    headers={"authorization": f"Bearer {key}"},
                ) as r,
            ):
                data = await r.json()
                return str(
                    data.get("classifier_version") or f"{a.classifier} (not reported: HTTP {r.status})"
                )

        clf = asyncio.run(probe())
        results: dict[str, dict[str, list[dict[str, Any]]]] = {}
        conc = [int(c) for c in a.concurrency.split(",")]
        pids = {"redline": redline.pid, **({"litellm": litellm.pid} if litellm else {})}
        cursors = dict.fromkeys(targets, 0)
        for stream in (False, True):
            for c in conc if not stream else [1]:
                cell = f"{'stream' if stream else 'plain'} C={c}"
                results[cell] = {}
                for _ in range(a.repeats):
                    for name, (url, k) in targets.items():
                        before = cpu_ms(pids[name]) if name in pids else 0.0
                        r = asyncio.run(run_load(url, k, c, a.seconds, stream, requests, cursors[name]))
                        cursors[name] = r["next"]
                        if name in pids:
                            r["cpu_ms_per_req"] = (cpu_ms(pids[name]) - before) / max(1, r["n"])
                        results[cell].setdefault(name, []).append(r)
        report(results, clf, a, len(requests), len(answers))
    finally:
        for p in reversed(procs):
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)


def report(
    results: dict[str, dict[str, list[dict[str, Any]]]],
    clf: str,
    a: argparse.Namespace,
    n_prompts: int,
    n_answers: int,
) -> None:
    def med(rs: list[dict[str, Any]], k: str) -> float:
        vals = [r[k] for r in rs if r.get(k) == r.get(k)]
        return statistics.median(vals) if vals else float("nan")

    print(
        f"# gateway bench — {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        f"# redline classifier: {clf}; {a.seconds:g}s x {a.repeats} per cell; proxy on core 1, load+stand-in on core 0"
    )
    print(f"# traffic: {a.traffic} ({n_prompts} requests, {n_answers} answers)")
    print()
    print(
        "| cell | target | p50 ms | p99 ms | added p50 / p99 ms | req/s | CPU-ms/req | TTFT p50 ms | blocked | errors |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for cell, by in results.items():
        d50, d99 = med(by["direct"], "p50"), med(by["direct"], "p99")
        for name, rs in by.items():
            p50, p99 = med(rs, "p50"), med(rs, "p99")
            added = "" if name == "direct" else f"+{p50 - d50:.2f} / +{p99 - d99:.2f}"
            cpu = med(rs, "cpu_ms_per_req") if "cpu_ms_per_req" in rs[0] else float("nan")
            ttft = med(rs, "ttft_p50")
            print(
                f"| {cell} | {name} | {p50:.2f} | {p99:.2f} | {added} | {med(rs, 'rps'):.0f} | "
                f"{'' if cpu != cpu else f'{cpu:.2f}'} | {'' if ttft != ttft else f'{ttft:.2f}'} | "
                f"{blocked_share(rs)} | {sum(r['errors'] for r in rs)} |"
            )
    if a.json:
        print(json.dumps(results))


def blocked_share(rs: list[dict[str, Any]]) -> str:
    done = sum(r["n"] for r in rs)
    return f"{100 * sum(r['blocked'] for r in rs) / done:.1f} %" if done else ""


if __name__ == "__main__":
    main()
