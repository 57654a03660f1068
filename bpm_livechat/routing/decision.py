"""One routing decision: match the session's rules, choose an operator by the rule's strategy,
assign under locks, and keep the explanation (the queue that drains when an operator comes
Online or frees capacity is `routing.queue`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Insert, Table, bindparam, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bpm_livechat.clock import Clock
from bpm_livechat.live.feed import LiveKind, publish
from bpm_livechat.models import (
    SessionHistory,
    SessionRoute,
    Status,
    SupportSession,
    User,
)
from bpm_livechat.params.values import get_parameters
from bpm_livechat.routing.explanation import (
    SHOWN_CANDIDATES,
    Verdict,
    among,
    first_match,
    sentence,
    session_facts,
)
from bpm_livechat.routing.rules import CompiledRule, compiled_rules
from bpm_livechat.routing.strategies import (
    BEST,
    Candidate,
    assign_if_unassigned,
    best_candidates,
    lock_operator,
    lock_teams,
    take_turn,
)
from bpm_livechat.sessions.events import SessionEvent, record_event

ROUTED = "routed"  # the session history's kind of a routing decision
_QUIET_REPEATS = ("parameter changed", "first client message")
_SESSIONS = cast(Table, SupportSession.__table__)
_ROUTES = cast(Table, SessionRoute.__table__)
_HISTORY = cast(Table, SessionHistory.__table__)
_INSERT_HISTORY = insert(_HISTORY)
_SESSION_LOCK = (
    select(_SESSIONS.c.operator_id, _SESSIONS.c.status)
    .where(_SESSIONS.c.id == bindparam("session"))
    .with_for_update()
)


@dataclass(frozen=True)
class Decision:
    """What routing decided for one session, and the sentence that explains it."""

    verdict: Verdict
    team: str | None
    candidates: tuple[Candidate, ...]
    chosen: Candidate | None
    explanation: str

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the CLI, the API and the tester."""
        checks = [c.as_dict() for c in self.verdict.checks]
        return {**self.outcome(), "checks": checks, "not_tried": list(self.verdict.untried)}

    def outcome(self) -> dict[str, Any]:
        """The rule, target, shortlist and choice (`as_dict` without the rules' reasons)."""
        rule = self.verdict.rule
        return {
            "rule": rule.name if rule else None,
            "team": self.team,
            "strategy": rule.strategy.value if rule else None,
            "candidates": [
                {"username": c.username, "name": c.name, "active": c.active, "capacity": c.capacity}
                for c in self.candidates
            ],
            "chosen": self.chosen.username if self.chosen else None,
            "explanation": self.explanation,
        }


def _verdict(
    db: Session, session: SupportSession, rules: Sequence[CompiledRule] | None = None
) -> Verdict:
    facts = session_facts(session, get_parameters(db, session.id))
    return first_match(compiled_rules(db, session.live_chat_id) if rules is None else rules, facts)


def _target(db: Session, rule: CompiledRule) -> tuple[str, str | None]:
    if rule.team_id is not None:
        return f"team {rule.team_name}", rule.team_name
    names = db.scalars(select(User.display_name).where(User.id.in_(rule.operator_ids)))
    return "operators " + ", ".join(sorted(names)), None


def preview(db: Session, clock: Clock, session: SupportSession) -> Decision:
    """What routing would decide now, changing nothing (the tester)."""
    verdict = _verdict(db, session)
    rule = verdict.rule
    if rule is None:
        return Decision(verdict, None, (), None, sentence(None, "", "", "stays in the queue"))
    target, team = _target(db, rule)
    best, total = best_candidates(
        db, clock.now(), session.live_chat_id, rule.strategy, rule.team_id, rule.operator_ids
    )
    chosen = best[0] if best else None
    outcome = f"would go to {chosen.name}" if chosen else f"would wait for {target}"
    explained = sentence(rule, target, among(rule.strategy, best, total), outcome)
    return Decision(verdict, team, tuple(best[:SHOWN_CANDIDATES]), chosen, explained)


def route_session(
    db: Session,
    clock: Clock,
    session: SupportSession,
    reason: str,
    rules: Sequence[CompiledRule] | None = None,
) -> Decision:
    """Route a session nobody has: assign the rule's best available operator, or leave it
    queued for the rule's team; the session's history says why. The caller holds the
    session's row (a new session, a step's lock) and owns the transaction."""
    db.flush()
    if not _still_unassigned(db, session):
        return Decision(Verdict((), None), None, (), None, "someone has the session already")
    verdict = _verdict(db, session, rules)
    rule = verdict.rule
    if rule is None:
        decision = Decision(verdict, None, (), None, sentence(None, "", "", "stays in the queue"))
        _remember(db, clock, session, decision, None, waiting=False, reason=reason)
        return decision
    target, team = _target(db, rule)
    if rule.team_id is not None:
        lock_teams(db, [rule.team_id])
    now, first_page = clock.now(), None
    passed: list[int] = []
    while True:
        best, total = best_candidates(
            db, now, session.live_chat_id, rule.strategy, rule.team_id, rule.operator_ids, passed
        )
        first_page = first_page or (best, total)
        for candidate in best:
            if lock_operator(db, candidate.user_id, candidate.active) >= candidate.capacity:
                passed.append(candidate.user_id)
                continue  # filled by another worker since it was counted
            if not assign_if_unassigned(db, session.id, candidate.user_id):
                db.refresh(session)
                return Decision(verdict, team, (), None, "someone took the session first")
            take_turn(db, rule.team_id, candidate.user_id)
            shown = among(rule.strategy, *first_page)
            explained = sentence(rule, target, shown, f"assigned to {candidate.name}")
            shortlist = tuple(first_page[0][:SHOWN_CANDIDATES])
            decision = Decision(verdict, team, shortlist, candidate, explained)
            _assigned(db, clock, session, candidate, decision, rule, reason)
            return decision
        if len(best) < BEST:
            break
    explained = sentence(rule, target, among(rule.strategy, *first_page), f"waits for {target}")
    decision = Decision(verdict, team, tuple(first_page[0][:SHOWN_CANDIDATES]), None, explained)
    _remember(db, clock, session, decision, rule, waiting=rule.team_id is not None, reason=reason)
    return decision


def _still_unassigned(db: Session, session: SupportSession) -> bool:
    """Lock the session's row (the first lock of every decision; the caller may hold it
    already) and say whether it is still open and nobody's."""
    row = db.execute(_SESSION_LOCK, {"session": session.id}).one()
    return row.operator_id is None and row.status != Status.CLOSED.value


def _assigned(
    db: Session,
    clock: Clock,
    session: SupportSession,
    chosen: Candidate,
    decision: Decision,
    rule: CompiledRule | None,
    reason: str,
) -> None:
    db.expire(session, ["operator_id", "operator", "status", "version"])
    _remember(db, clock, session, decision, rule, waiting=False, reason=reason, force=True)
    detail = {"by": None, "from": None, "to": chosen.username, "routed": True}
    record_event(db, clock, SessionEvent.SESSION_ASSIGNED, session.id, {"change": ROUTED, **detail})
    publish(db, LiveKind.SESSION_CHANGED, session.id, session.live_chat_id, {"what": "assigned"})


def _remember(
    db: Session,
    clock: Clock,
    session: SupportSession,
    decision: Decision,
    rule: CompiledRule | None,
    *,
    waiting: bool,
    reason: str,
    force: bool = False,
) -> None:
    """Keep where the session was routed; a history entry when that changed (or it was assigned)."""
    now = clock.now()
    team_id = rule.team_id if rule else None
    quiet = not force and reason in _QUIET_REPEATS
    if quiet:
        before = select(_ROUTES.c.explanation, _ROUTES.c.team_id).where(
            _ROUTES.c.session_id == session.id
        )
        previous = db.execute(before).first()
    route = {
        "team_id": team_id,
        "rule_id": rule.id if rule else None,
        "waiting": waiting,
        "explanation": decision.explanation,
        "routed_at": now,
    }
    _keep_route(db, session.id, route)
    if quiet and previous is not None and tuple(previous) == (decision.explanation, team_id):
        return  # a parameter change that changed nothing about the route says nothing
    history = {
        "session_id": session.id,
        "kind": ROUTED,
        "summary": f"Routing ({reason}): {decision.explanation}",
        "detail": {"reason": reason, **_facts_kept(decision)},
        "created_at": now,
    }
    db.execute(_INSERT_HISTORY, history)


def _keep_route(db: Session, session_id: int, route: dict[str, Any]) -> None:
    """Insert or replace the session's route in one statement."""
    db.execute(_route_upsert(db.get_bind().dialect.name), {"session_id": session_id, **route})
    loaded = db.identity_map.get(db.identity_key(SessionRoute, session_id))
    if loaded is not None:
        db.expire(loaded)  # written past the ORM: read it again when asked


@functools.cache  # built once per dialect, bound at each use
def _route_upsert(dialect: str) -> Insert:
    upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_ROUTES)
    replaced = ("team_id", "rule_id", "waiting", "explanation", "routed_at")
    return upsert.on_conflict_do_update(
        index_elements=[_ROUTES.c.session_id], set_={c: upsert.excluded[c] for c in replaced}
    )


def _facts_kept(decision: Decision) -> dict[str, Any]:
    """What the history keeps of a decision: the rule, target, shortlist and choice (the
    tester shows every rule's reasons again on demand)."""
    return {**decision.outcome(), "rules_tried": len(decision.verdict.tried)}
