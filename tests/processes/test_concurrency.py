"""Races on one instance: exactly one completion wins, the other gets ConflictError; both databases."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bpm_livechat.desk.users import get_user
from bpm_livechat.errors import ConflictError
from bpm_livechat.models import ProcessInstance
from bpm_livechat.params.values import get_parameters, parameter_history
from bpm_livechat.persistence.transactions import unit_of_work
from bpm_livechat.processes.engine.engine import ProcessEngine
from bpm_livechat.processes.instances import complete_task, get_instance, start_process
from tests.support import Desk, new_session


def _waiting_instance(
    factory: sessionmaker[Session], engine: ProcessEngine, desk: Desk
) -> tuple[int, int, str]:
    with factory() as db:
        session = new_session(db, desk)
        outcome = start_process(
            db,
            engine,
            session,
            "case_review",
            {"contact_email": "a@b.io", "amount": 5000},
            get_user(db, "olga"),
        )
        db.commit()
        return session.id, outcome.instance.id, outcome.tasks[0].task_id


def test_two_concurrent_completions_give_one_success_and_one_conflict(
    factory: sessionmaker[Session], deployed: Desk, process_engine: ProcessEngine
) -> None:
    session_id, instance_id, task_id = _waiting_instance(factory, process_engine, deployed)
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def complete(who: str, summary: str) -> None:
        barrier.wait()
        try:
            with unit_of_work(factory) as db:
                instance = get_instance(db, instance_id)
                form = {"summary": summary, "outcome": "resolved"}
                complete_task(db, process_engine, instance, task_id, form, get_user(db, who))
            results[summary] = "ok"
        except ConflictError as exc:
            results[summary] = f"conflict: {exc.message}"

    threads = [
        threading.Thread(target=complete, args=("olga", "first")),
        threading.Thread(target=complete, args=("sam", "second")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results.values())[1:] == ["ok"]
    assert sorted(results.values())[0].startswith("conflict: ")
    winner = next(summary for summary, result in results.items() if result == "ok")
    with factory() as db:
        assert get_instance(db, instance_id).status == "completed"
        assert get_parameters(db, session_id)["summary"] == winner
        assert [h.new_value for h in parameter_history(db, session_id, "summary")] == [winner]


def test_a_stale_instance_is_not_silently_overwritten(
    factory: sessionmaker[Session], deployed: Desk, process_engine: ProcessEngine
) -> None:
    _session_id, instance_id, _task_id = _waiting_instance(factory, process_engine, deployed)
    with factory() as db:
        stale = db.get(ProcessInstance, instance_id)
        db.commit()
    assert stale is not None
    with unit_of_work(factory) as db:
        fresh = get_instance(db, instance_id)
        fresh.status = "cancelled"
    with pytest.raises(ConflictError), unit_of_work(factory) as db:
        mine = db.merge(stale, load=False)
        mine.status = "failed"
    with factory() as db:
        current = get_instance(db, instance_id)
        # One write after the version the stale copy saw: the fresh one; the stale one is refused.
        assert (current.status, current.version) == ("cancelled", stale.version + 1)
