"""Oversight quality: is the human review meaningful, or a rubber stamp?

Per reviewer and per rule (a hold is attributed to the first rule of its decision):

* ``approval_rate`` — reviewer: approvals / votes; rule: approved / (approved +
  rejected + expired) holds;
* ``median_dwell_s`` — median time from a hold's creation to a vote on it;
* ``fast_approvals`` — approvals cast within ``max(1 s, 10 %)`` of the minimum
  deliberation time (the earliest moment allowed): a high share suggests approval
  without reading;
* ``expiries`` — rule: holds of the rule that expired; reviewer: expired holds they
  could have decided (their tenant and roles) but did not vote on.

Computed from the most recent ``limit`` holds (default 5 000), on demand for the
page and periodically for ``/metrics`` (see :class:`OversightCollector`).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from redline.store import Store

__all__ = ["OversightCollector", "QualityReport", "QualityRow", "compute_quality", "fast_threshold"]


def fast_threshold(min_deliberation_s: float) -> float:
    """The latest vote time (from creation) still counted as 'at the minimum'."""
    return min_deliberation_s + max(1.0, 0.1 * min_deliberation_s)


@dataclass
class QualityRow:
    """The figures of one reviewer or one rule."""

    name: str
    approvals: int = 0
    rejections: int = 0
    fast_approvals: int = 0
    expiries: int = 0
    holds: int = 0
    resolved: int = 0
    approved_holds: int = 0
    dwell: list[float] = field(default_factory=list)
    is_rule: bool = False

    @property
    def approval_rate(self) -> float | None:
        if self.is_rule:
            return self.approved_holds / self.resolved if self.resolved else None
        votes = self.approvals + self.rejections
        return self.approvals / votes if votes else None

    @property
    def median_dwell_s(self) -> float | None:
        return statistics.median(self.dwell) if self.dwell else None


@dataclass
class QualityReport:
    at: float
    reviewers: list[QualityRow]
    rules: list[QualityRow]
    holds_by_state: dict[str, int]


async def compute_quality(store: Store, now: float, limit: int = 5000) -> QualityReport:
    """Figures over the most recent ``limit`` holds (see module docstring)."""
    users = await store.list_users()
    reviewers: dict[str, QualityRow] = {u.name: QualityRow(u.name) for u in users}
    rules: dict[str, QualityRow] = {}
    by_state: dict[str, int] = {}
    for hold in await store.list_holds(limit=limit):
        by_state[hold.state] = by_state.get(hold.state, 0) + 1
        decided = json.loads(hold.decision)
        rule_ids = decided.get("rules") or []
        rule = str(rule_ids[0]) if rule_ids else "-"
        row = rules.setdefault(rule, QualityRow(rule, is_rule=True))
        row.holds += 1
        if hold.state in ("approved", "rejected", "expired"):
            row.resolved += 1
        if hold.state == "approved":
            row.approved_holds += 1
        votes = await store.approvals(hold.id)
        voters = {v.approver for v in votes}
        for vote in votes:
            dwell = max(0.0, vote.at - hold.created_at)
            who = reviewers.setdefault(vote.approver, QualityRow(vote.approver))
            who.dwell.append(dwell)
            row.dwell.append(dwell)
            if vote.decision == "approve":
                who.approvals += 1
                row.approvals += 1
                if dwell <= fast_threshold(hold.min_deliberation_s):
                    who.fast_approvals += 1
                    row.fast_approvals += 1
            else:
                who.rejections += 1
                row.rejections += 1
        if hold.state == "expired":
            row.expiries += 1
            for user in users:
                eligible = user.tenant in ("*", hold.tenant) and any(r in hold.roles for r in user.roles)
                if eligible and user.name not in voters:
                    reviewers[user.name].expiries += 1
    return QualityReport(
        at=now,
        reviewers=sorted(reviewers.values(), key=lambda r: r.name),
        rules=sorted(rules.values(), key=lambda r: r.name),
        holds_by_state=by_state,
    )


class OversightCollector(Collector):
    """Exports the latest :class:`QualityReport` (``report()`` returns it, or None)."""

    def __init__(self, report: Callable[[], QualityReport | None]) -> None:
        self._report = report

    def collect(self) -> Iterator[GaugeMetricFamily]:
        report = self._report()
        holds = GaugeMetricFamily("redline_oversight_holds", "Recent holds by state", labels=["state"])
        if report is not None:
            for state, count in sorted(report.holds_by_state.items()):
                holds.add_metric([state], count)
        yield holds
        for scope, rows in (
            ("reviewer", report.reviewers if report else []),
            ("rule", report.rules if report else []),
        ):
            votes = GaugeMetricFamily(
                f"redline_oversight_{scope}_votes", f"Votes per {scope}", labels=[scope, "decision"]
            )
            rate = GaugeMetricFamily(
                f"redline_oversight_{scope}_approval_rate", f"Approval rate per {scope}", labels=[scope]
            )
            dwell = GaugeMetricFamily(
                f"redline_oversight_{scope}_median_dwell_seconds",
                f"Median time to vote per {scope}",
                labels=[scope],
            )
            fast = GaugeMetricFamily(
                f"redline_oversight_{scope}_fast_approvals",
                f"Approvals at the minimum deliberation time per {scope}",
                labels=[scope],
            )
            expiries = GaugeMetricFamily(
                f"redline_oversight_{scope}_expiries", f"Expired holds per {scope}", labels=[scope]
            )
            for row in rows:
                votes.add_metric([row.name, "approve"], row.approvals)
                votes.add_metric([row.name, "reject"], row.rejections)
                if row.approval_rate is not None:
                    rate.add_metric([row.name], row.approval_rate)
                if row.median_dwell_s is not None:
                    dwell.add_metric([row.name], row.median_dwell_s)
                fast.add_metric([row.name], row.fast_approvals)
                expiries.add_metric([row.name], row.expiries)
            yield from (votes, rate, dwell, fast, expiries)
