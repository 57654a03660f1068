"""Why a session went where it went: each rule's verdict with the reasons it failed, and the
sentence the session's history keeps ("rule Enterprise -> team Enterprise, least busy: Olga
2/5, Ivan 3/5")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from bpm_livechat.models import SupportSession
from bpm_livechat.routing.conditions import WEEKDAYS, describe, holds, shown
from bpm_livechat.routing.rules import CompiledRule, Match
from bpm_livechat.routing.strategies import Candidate

SHOWN_CANDIDATES = 5


@dataclass(frozen=True)
class RuleCheck:
    """One rule's verdict for a session: matched, or the reasons it did not."""

    rule_id: int
    rule: str
    matched: bool
    reasons: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the CLI, the API and the tester."""
        return {
            "rule_id": self.rule_id,
            "rule": self.rule,
            "matched": self.matched,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class Verdict:
    """The rules tried in order, up to the first that matched (None when none did), and the
    facts they were tried on."""

    tried: tuple[CompiledRule, ...]
    rule: CompiledRule | None
    untried: tuple[str, ...] = field(default=())
    facts: Mapping[str, object] = field(default_factory=dict)

    @cached_property
    def checks(self) -> tuple[RuleCheck, ...]:
        """Each rule tried with the reasons it failed, worded only when someone reads them (a
        decision keeps how many rules it tried; the tester shows why)."""
        return tuple(check_rule(rule, self.facts) for rule in self.tried)


def session_facts(session: SupportSession, params: Mapping[str, object]) -> dict[str, object]:
    """What rules read of a session: its system parameters and its custom values."""
    created: datetime = session.created_at
    email = session.client.email or ""
    return {
        **params,
        "channel": session.channel.name,
        "priority": session.priority,
        "subject": session.subject,
        "client_email_domain": email.rpartition("@")[2].lower() if "@" in email else None,
        "created_time": f"{created.hour:02d}:{created.minute:02d}",
        "created_weekday": WEEKDAYS[created.weekday()],
    }


def check_rule(rule: CompiledRule, facts: Mapping[str, object]) -> RuleCheck:
    """Whether the rule's conditions hold for the facts, and which did not and why."""
    failed: list[str] = []
    passed = 0
    for condition, subject, expected in rule.conditions:
        if subject is None:
            failed.append(f"{condition.key} is no longer a parameter")
            continue
        actual = facts.get(condition.key)
        if holds(subject, condition, expected, actual):
            passed += 1
        else:
            failed.append(f"{describe(condition)} failed: {condition.key} is {shown(actual)}")
    if rule.match is Match.ANY:
        matched = passed > 0 or not rule.conditions
        reasons = tuple(failed) if not matched else ()
    else:
        matched = not failed
        reasons = tuple(failed)
    return RuleCheck(rule.id, rule.name, matched, reasons if not matched else ())


def matches(rule: CompiledRule, facts: Mapping[str, object]) -> bool:
    """Whether the rule's conditions hold for the facts (`check_rule`'s verdict without its
    reasons)."""
    held = (
        subject is not None and holds(subject, condition, expected, facts.get(condition.key))
        for condition, subject, expected in rule.conditions
    )
    if rule.match is Match.ANY:
        return not rule.conditions or any(held)
    return all(held)


def first_match(rules: Sequence[CompiledRule], facts: Mapping[str, object]) -> Verdict:
    """Try the rules in order; stop at the first that matches."""
    for index, rule in enumerate(rules):
        if matches(rule, facts):
            untried = tuple(r.name for r in rules[index + 1 :])
            return Verdict(tuple(rules[: index + 1]), rule, untried, facts)
    return Verdict(tuple(rules), None, (), facts)


def among(strategy: str, found: Sequence[Candidate], total: int) -> str:
    """ "least busy: Olga 2/5, Ivan 3/5" (the first few of `total`, then how many more)."""
    label = strategy.replace("-", " ")
    if not found:
        return f"{label}: nobody Online under capacity"
    loads = ", ".join(c.load() for c in found[:SHOWN_CANDIDATES])
    more = total - min(len(found), SHOWN_CANDIDATES)
    return f"{label}: {loads}" + (f" and {more} more" if more > 0 else "")


def sentence(rule: CompiledRule | None, target: str, strategy_part: str, outcome: str) -> str:
    """The history's sentence of one routing decision."""
    if rule is None:
        return f"no routing rule matched; {outcome}"
    return f"rule {rule.name} -> {target}, {strategy_part}; {outcome}"
