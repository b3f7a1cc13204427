"""Policy evaluation speed: decisions per second for the default policy with precomputed scores.

    .venv/bin/python bench/policy_eval.py [--seconds 3] [--core 1]

Pins itself to one core (default: core 1) and reports the median of five runs
over a mix of facts that exercise every kind of rule (red lines, reviews with
approvals, attribute tests, tool effects, counters, uncertainty), plus the
compile time of the default policy. Target: over 50,000 decisions/s on one core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from machine import describe  # bench/ is sys.path[0] when this script runs
from redline.classify.base import Scores
from redline.facts import Attributes, Facts, Stage, Target, ToolCall
from redline.policy import compile_text, default_policy_path


def workload() -> list[tuple[Facts, Scores, dict[str, int]]]:
    authority = Attributes(legal_authority="W-1", subject="s1")
    return [
        (Facts.from_text("plan resupply"), Scores({"military_general": 0.93, "general": 0.05}), {}),
        (Facts.from_text("x"), Scores({"mass_domestic_surveillance": 0.91}), {}),
        (Facts.from_text("x"), Scores({"autonomous_lethal_targeting": 0.7, "targeting_support": 0.2}), {}),
        (Facts.from_text("x"), Scores({"targeting_support": 0.8}), {}),
        (
            Facts.from_text("x", attributes=authority),
            Scores({"individual_surveillance": 0.9}),
            {"distinct_subjects": 3},
        ),
        (
            Facts.from_text("x", attributes=authority),
            Scores({"individual_surveillance": 0.9}),
            {"distinct_subjects": 30},
        ),
        (Facts.from_text("x"), Scores({"individual_surveillance": 0.9}), {}),
        (
            Facts.from_text("x"),
            Scores({"general": 0.6, "mass_domestic_surveillance": 0.2}, uncertain=True),
            {},
        ),
        (
            Facts(stage=Stage.TOOL_CALL, tool_calls=(ToolCall(name="fire_mission"),)),
            Scores({"general": 0.9}),
            {},
        ),
        (
            Facts(stage=Stage.TOOL_CALL, tool_calls=(ToolCall(name="get_weather"),)),
            Scores({"general": 0.9}),
            {},
        ),
        (
            Facts.from_text("x", target=Target(model="gpt-4o", vendor="openai")),
            Scores({"policy_speech": 0.8}),
            {},
        ),
        (Facts.from_text("x"), Scores({"defensive_counter_materiel": 0.95}), {}),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="duration of each of the five runs")
    parser.add_argument("--core", type=int, default=1, help="CPU core to pin to (-1: do not pin)")
    args = parser.parse_args()
    if args.core >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.core % (os.cpu_count() or 1)})

    text = default_policy_path().read_text(encoding="utf-8")
    compile_times = []
    for _ in range(20):
        t0 = time.perf_counter()
        policy = compile_text(text)
        compile_times.append(time.perf_counter() - t0)

    items = workload()
    rates = []
    wall_rates = []
    for _ in range(5):
        n = 0
        deadline = time.perf_counter() + args.seconds
        t0, c0 = time.perf_counter(), time.process_time()
        while time.perf_counter() < deadline:
            for facts, scores, counters in items:
                policy.evaluate(facts, scores, counters)
            n += len(items)
        # CPU time of this process: a shared, noisy machine steals wall time, not CPU time.
        rates.append(n / (time.process_time() - c0))
        wall_rates.append(n / (time.perf_counter() - t0))

    print(f"machine: {describe()}; pinned to core {args.core}")
    print(
        f"policy: {policy.ref.name} {policy.ref.version}, {len(policy.rules)} rules, {len(policy.signals)} signals"
    )
    print(f"compile time (median of 20): {statistics.median(compile_times) * 1000:.2f} ms")
    print(
        f"decisions per CPU-second on one core (median of 5 × {args.seconds:g} s, precomputed scores): {statistics.median(rates):,.0f}"
    )
    print(
        f"  wall-clock decisions/s (lower when the machine is shared): {statistics.median(wall_rates):,.0f}; load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"  per decision: {1e6 / statistics.median(rates):.2f} µs; runs: {', '.join(f'{r:,.0f}' for r in rates)}"
    )
    print(f"target > 50,000/s: {'met' if statistics.median(rates) > 50_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
