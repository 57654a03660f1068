"""What a chaos run is asked to do (`Plan`) and what it found (`Report`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Plan:
    """How long, how hard, and which faults."""

    seconds: float = 45.0
    web_workers: int = 3
    threads: int = 4
    job_workers: int = 2
    clients: int = 6
    sessions: int = 12
    outage_seconds: float = 4.0
    slow_seconds: float = 4.0
    slow_delay: float = 0.05
    faults: tuple[str, ...] = ("web_kill", "job_kill", "sandbox_kill", "outage", "slow", "reset")
    pg_restart: bool = False
    stop_seconds: float = 40.0  # how long the graceful shutdown may take


@dataclass
class Report:
    """The outcome of one run."""

    plan: Plan
    requests: int
    statuses: dict[int, int]
    acknowledged: dict[str, int]
    problems: list[str]
    recovery_seconds: dict[str, float]
    deliveries: int
    duplicate_deliveries: int
    dropped: int
    replays: int
    stop_seconds: dict[str, float] = field(default_factory=dict)  # SIGTERM to exit, per process
    leased: int = 0  # jobs left to their lease by job workers that SIGTERM stopped
    lease_wait: float = 0.0  # how long the longest of them would still wait, in seconds

    def text(self) -> str:
        """A summary for people."""
        lines = [
            f"chaos run: {self.plan.seconds:.0f} s, {self.plan.web_workers} web workers x "
            f"{self.plan.threads} threads, {self.plan.job_workers} job workers, "
            f"{self.plan.clients} clients",
            f"requests: {self.requests}, statuses: {dict(sorted(self.statuses.items()))}, "
            f"dropped connections: {self.dropped}, idempotent replays: {self.replays}",
            "acknowledged: " + ", ".join(f"{k} {v}" for k, v in self.acknowledged.items()),
            f"webhook deliveries: {self.deliveries} (repeated after a kill, never concurrent: "
            f"{self.duplicate_deliveries})",
            "recovered after: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in self.recovery_seconds.items()),
            "stopped after SIGTERM in: "
            + ", ".join(f"{k} {v:.1f} s" for k, v in self.stop_seconds.items())
            + f" (jobs they left to the lease: {self.leased}"
            + (f", waiting up to {self.lease_wait:.0f} s more)" if self.leased else ")"),
            "problems: " + ("none" if not self.problems else "; ".join(self.problems[:20])),
        ]
        return "\n".join(lines)
