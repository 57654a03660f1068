"""A process step runs its scripts holding no database lock, then writes only if nothing it read
changed meanwhile (optimistic concurrency; issue 18, item 2).

Phase 1 reads what the step needs (on SQLite in a deferred read transaction, which takes no
write lock; on PostgreSQL in the caller's transaction, with plain reads that lock no row) and
runs the engine. Phase 2 runs in the caller's write transaction: it locks the instance and the
session as a step always did, and checks the instance's and the session's versions and the
session's stored values against what phase 1 read. When they are unchanged the step applies
as before; when another writer came in between, the transaction is rolled back and phase 1
runs again on fresh reads, at most `ATTEMPTS` times, then the caller gets a ConflictError.

The caller still owns the transaction and commits it once the step returns. What it may do
before a step is read: on SQLite its reads are ended (committed) before phase 1, and a retry
rolls the transaction back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bpm_livechat.errors import ConflictError
from bpm_livechat.models import ProcessInstance
from bpm_livechat.params.values import lock_session, read_stored
from bpm_livechat.persistence.transactions import leave_writer_queue, queue_for_writer, reading
from bpm_livechat.processes.bpmn.budget import MAX_STEP_SECONDS

if TYPE_CHECKING:
    from bpm_livechat.processes.steps import PreparedStep

P = TypeVar("P")
T = TypeVar("T")

ATTEMPTS = 3
CHANGED = "the session changed while the step ran; try again"


class StepChanged(Exception):
    """What a step's phase 1 read changed before its phase 2 could write: run it again."""


def run_unlocked(
    db: Session, prepare: Callable[[], P], apply: Callable[[P], T], attempts: int = ATTEMPTS
) -> T:
    """`prepare` with reads only, then `apply` in the write transaction; both again while
    `apply` finds what `prepare` read changed (StepChanged), then a ConflictError."""
    for _ in range(attempts):
        _end_reads(db)
        with reading(db):
            _patient_while_scripts_run(db)
            prepared = prepare()
        queue_for_writer(db)  # the API's SQLite writer queue, taken only now
        try:
            return apply(prepared)
        except StepChanged:
            db.rollback()  # the locks go, and every loaded object is read afresh next time
            leave_writer_queue(db)
    raise ConflictError(CHANGED)


# PostgreSQL ends a transaction left idle longer than `idle_in_transaction_session_timeout` (60 s
# by default). Phase 1 keeps the caller's transaction open, idle while its scripts run, for up to
# the step's budget, which a process may raise to MAX_STEP_SECONDS: for this transaction only,
# the limit leaves room for that budget.
_IDLE_WHILE_SCRIPTS_RUN_MS = int((MAX_STEP_SECONDS + 30) * 1000)


def _patient_while_scripts_run(db: Session) -> None:
    """On PostgreSQL, let this transaction stay idle for as long as a step's scripts may run."""
    if db.get_bind().engine.dialect.name != "postgresql":
        return
    setting = func.set_config(
        "idle_in_transaction_session_timeout", str(_IDLE_WHILE_SCRIPTS_RUN_MS), True
    )
    db.execute(select(setting))


def _end_reads(db: Session) -> None:
    """On SQLite, end the caller's transaction: it began as a writer and holds the write lock."""
    if db.get_bind().engine.dialect.name != "sqlite" or not db.in_transaction():
        return
    if db.new or db.dirty or db.deleted:
        raise RuntimeError("a process step must come before any write of its transaction")
    db.commit()  # only reads: nothing is written; loaded objects stay usable


def check_unchanged(db: Session, prepared: PreparedStep) -> None:
    """Lock the instance (a saved one) and the session; StepChanged unless they, and the
    session's stored values, are as phase 1 read them."""
    instance = prepared.instance
    if prepared.seen_instance is not None:
        query = select(ProcessInstance.version).where(ProcessInstance.id == instance.id)
        if db.execute(query.with_for_update()).scalar_one_or_none() != prepared.seen_instance:
            raise StepChanged
    session_id = prepared.session.id
    if lock_session(db, session_id) != prepared.seen_session:
        raise StepChanged
    if read_stored(db, session_id) != prepared.values.stored:
        raise StepChanged
