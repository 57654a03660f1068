"""What an operator of the service counts in the database: jobs by kind and state, incidents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bpm_livechat.models import InstanceStatus, Job, JobStatus, ProcessInstance


@dataclass(frozen=True)
class Figures:
    """Counts read in one transaction: (kind, status) -> jobs, kinds -> due jobs, incidents."""

    jobs: dict[tuple[str, str], int]
    jobs_due: dict[str, int]
    incidents: dict[str, int]


def read_figures(db: Session, now: datetime) -> Figures:
    """Jobs per kind and status, pending jobs already due per kind, failed instances per error kind."""
    jobs = {
        (kind, status): count
        for kind, status, count in db.execute(
            select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)
        )
    }
    due = select(Job.kind, func.count()).where(
        Job.status == JobStatus.PENDING.value, Job.due_at <= now
    )
    jobs_due = {kind: count for kind, count in db.execute(due.group_by(Job.kind))}
    error_kind = ProcessInstance.error["kind"].as_string()
    failed = (
        select(error_kind, func.count())
        .where(ProcessInstance.status == InstanceStatus.FAILED.value)
        .group_by(error_kind)
    )
    incidents = {kind or "unknown": count for kind, count in db.execute(failed)}
    return Figures(jobs, jobs_due, incidents)
