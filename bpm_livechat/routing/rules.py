"""Routing rules: ordered per live chat and global, validated on save, compiled to evaluate.

A session's live chat's rules are tried first in their order, then the global ones; the first
whose conditions hold (all, or any) decides the target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, func, or_, select
from sqlalchemy.orm import Session

from bpm_livechat.errors import NotFoundError, ValidationError
from bpm_livechat.models import RoutingRule, Team, TeamMember, User, utcnow
from bpm_livechat.params.definitions import definitions
from bpm_livechat.persistence.tx_cache import cached, forget
from bpm_livechat.routing.conditions import (
    Condition,
    Op,
    Subject,
    describe,
    parse_condition,
    subjects,
    typed,
)


class Strategy(StrEnum):
    """How a rule chooses among the available operators."""

    ROUND_ROBIN = "round-robin"
    LEAST_BUSY = "least-busy"


class Match(StrEnum):
    """Whether every condition must hold, or one is enough."""

    ALL = "all"
    ANY = "any"


@dataclass(frozen=True)
class RuleSpec:
    """What an admin writes: the rule before it is validated and stored."""

    name: str
    conditions: Sequence[Mapping[str, Any]]
    strategy: str
    team: str | None = None
    operators: Sequence[str] = ()
    live_chat_id: int | None = None
    match: str = Match.ALL.value
    position: int | None = None


@dataclass(frozen=True)
class CompiledRule:
    """A stored rule ready to evaluate: conditions with their values typed once."""

    id: int
    name: str
    live_chat_id: int | None
    match: Match
    # Each condition with its subject (None: its parameter was archived since) and typed value.
    conditions: tuple[tuple[Condition, Subject | None, Any], ...]
    team_id: int | None
    team_name: str | None
    operator_ids: tuple[int, ...]
    strategy: Strategy
    keys: frozenset[str] = field(default_factory=frozenset)


def save_rule(db: Session, spec: RuleSpec, rule: RoutingRule | None = None) -> RoutingRule:
    """Validate `spec` and store it as a new rule (or over `rule`); ValidationError naming the field."""
    name = " ".join(spec.name.split())
    if not name or len(name) > 255:
        raise ValidationError(
            "rule name must have 1 to 255 characters", {"name": "1 to 255 characters"}
        )
    match = _choice(Match, spec.match, "match")
    strategy = _choice(Strategy, spec.strategy, "strategy")
    known = subjects(definitions(db))
    conditions = [
        parse_condition(raw, known, f"conditions.{i}").as_dict()
        for i, raw in enumerate(spec.conditions)
    ]
    team_id, operator_ids = _target(db, spec)
    if rule is None:
        rule = RoutingRule(created_at=utcnow())
        rule.position = (
            spec.position if spec.position is not None else _next_position(db, spec.live_chat_id)
        )
        db.add(rule)
    elif spec.position is not None:
        rule.position = spec.position
    rule.name, rule.match, rule.strategy = name, match.value, strategy.value
    rule.live_chat_id, rule.conditions = spec.live_chat_id, conditions
    rule.team_id, rule.operator_ids = team_id, operator_ids
    rule.updated_at = utcnow()
    db.flush()
    forget(db, _CACHE_KEY)
    return rule


def _choice(enum: type[Any], value: str, name: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(e.value for e in enum)
        raise ValidationError(
            f"{name}: {value!r} is not one of {allowed}", {name: f"one of {allowed}"}
        ) from None


def _target(db: Session, spec: RuleSpec) -> tuple[int | None, list[int]]:
    if bool(spec.team) == bool(spec.operators):
        raise ValidationError(
            "give a team or named operators (not both)", {"team": "team or operators"}
        )
    if spec.team:
        team_id = db.scalar(select(Team.id).where(Team.name == spec.team))
        if team_id is None:
            raise ValidationError(f"team: unknown team {spec.team!r}", {"team": "unknown team"})
        return team_id, []
    ids = []
    for username in spec.operators:
        user_id = db.scalar(select(User.id).where(User.username == username))
        if user_id is None:
            raise ValidationError(
                f"operators: unknown user {username!r}", {"operators": "unknown user"}
            )
        if (
            db.scalar(select(TeamMember.team_id).where(TeamMember.user_id == user_id).limit(1))
            is None
        ):
            raise ValidationError(
                f"operators: {username!r} is in no team, so has no capacity",
                {"operators": "in no team"},
            )
        ids.append(user_id)
    return None, ids


def _next_position(db: Session, live_chat_id: int | None) -> int:
    query = select(func.max(RoutingRule.position)).where(RoutingRule.live_chat_id.is_(live_chat_id))
    if live_chat_id is not None:
        query = select(func.max(RoutingRule.position)).where(
            RoutingRule.live_chat_id == live_chat_id
        )
    last = db.scalar(query)
    return 1 if last is None else last + 1


def list_rules(
    db: Session, live_chat_id: int | None = None, every: bool = True
) -> list[RoutingRule]:
    """Rules in the order they are tried: a live chat's own, then the global ones (all chats' with `every`)."""
    query = select(RoutingRule)
    if not every:
        query = query.where(
            or_(RoutingRule.live_chat_id == live_chat_id, RoutingRule.live_chat_id.is_(None))
        )
    query = query.order_by(
        RoutingRule.live_chat_id.is_(None),
        RoutingRule.live_chat_id,
        RoutingRule.position,
        RoutingRule.id,
    )
    return list(db.scalars(query))


def get_rule(db: Session, name_or_id: str | int) -> RoutingRule:
    """The rule with this id, or the only one with this name; NotFoundError otherwise."""
    if isinstance(name_or_id, int) or str(name_or_id).isdigit():
        rule = db.get(RoutingRule, int(name_or_id))
        if rule is not None:
            return rule
    found = list(db.scalars(select(RoutingRule).where(RoutingRule.name == str(name_or_id))))
    if len(found) > 1:
        raise ValidationError(
            f"several rules are named {name_or_id!r}: give its id", {"rule": "ambiguous"}
        )
    if not found:
        raise NotFoundError("routing rule", name_or_id)
    return found[0]


def remove_rule(db: Session, rule: RoutingRule) -> None:
    """Delete a rule (sessions keep the explanation of where it sent them)."""
    db.delete(rule)
    db.flush()
    forget(db, _CACHE_KEY)


# Compiled rules by what they were compiled from: the database, the rules' fingerprint and the
# definitions'. Every decision needs the rules and they change rarely, while reading and typing
# a hundred of them costs more than the rest of the decision; the fingerprint is one cheap
# statement that any save or removal changes (count, newest id, latest save).
_COMPILED: dict[tuple[Any, ...], tuple[CompiledRule, ...]] = {}
_COMPILED_KEPT = 16
_CACHE_KEY = "bpm_livechat.routing.rules"
_RULES = cast(Table, RoutingRule.__table__)
_FINGERPRINT = select(func.count(), func.max(_RULES.c.id), func.max(_RULES.c.updated_at))
_TEAMS = cast(Table, Team.__table__)
_EVERY_RULE = (
    select(_RULES, _TEAMS.c.name.label("team_name"))
    .outerjoin(_TEAMS, _TEAMS.c.id == _RULES.c.team_id)
    .order_by(
        _RULES.c.live_chat_id.is_(None), _RULES.c.live_chat_id, _RULES.c.position, _RULES.c.id
    )
)


def compiled_rules(db: Session, live_chat_id: int) -> list[CompiledRule]:
    """The rules that apply to sessions of the live chat, in order (its own, then the global
    ones), compiled."""
    every = cached(db, _CACHE_KEY, lambda: _every_compiled(db))
    return [r for r in every if r.live_chat_id == live_chat_id or r.live_chat_id is None]


def _every_compiled(db: Session) -> tuple[CompiledRule, ...]:
    custom = definitions(db, include_archived=True)
    signature = tuple((d.id, d.key, d.type, d.options, d.archived_at) for d in custom)
    key = (str(db.get_bind().engine.url), *db.execute(_FINGERPRINT).one(), signature)
    found = _COMPILED.get(key)
    if found is None:
        known = subjects(custom)
        found = tuple(_compile(dict(row), known) for row in db.execute(_EVERY_RULE).mappings())
        if len(_COMPILED) >= _COMPILED_KEPT:
            _COMPILED.clear()
        _COMPILED[key] = found
    return found


def _compile(row: Mapping[str, Any], known: Mapping[str, Subject]) -> CompiledRule:
    parts = []
    for raw in row["conditions"] or []:
        subject = known.get(raw["key"])
        condition = Condition(raw["key"], Op(raw["op"]), raw.get("value"))
        parts.append((condition, subject, None if subject is None else typed(subject, condition)))
    return CompiledRule(
        id=row["id"],
        name=row["name"],
        live_chat_id=row["live_chat_id"],
        match=Match(row["match"]),
        conditions=tuple(parts),
        team_id=row["team_id"],
        team_name=row["team_name"],
        operator_ids=tuple(row["operator_ids"] or ()),
        strategy=Strategy(row["strategy"]),
        keys=frozenset(raw["key"] for raw in row["conditions"] or []),
    )


def rule_summary(rule: RoutingRule) -> dict[str, Any]:
    """Plain data for the CLI, the API and the pages."""
    conditions = [Condition(c["key"], Op(c["op"]), c.get("value")) for c in rule.conditions]
    return {
        "id": rule.id,
        "name": rule.name,
        "live_chat": rule.live_chat.name if rule.live_chat else None,
        "position": rule.position,
        "match": rule.match,
        "conditions": [c.as_dict() for c in conditions],
        "described": [describe(c) for c in conditions],
        "team": rule.team.name if rule.team else None,
        "operators": list(rule.operator_ids),
        "strategy": rule.strategy,
    }
