"""Request and response models of routing: teams, rules, the tester and Route again."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from .schemas import Input

Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class TeamMemberIn(Input):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    capacity: int = Field(5, description="Most concurrent active sessions routing gives them")


class TeamCreate(Input):
    name: Name
    members: list[TeamMemberIn]


class TeamMemberOut(BaseModel):
    username: str
    name: str
    capacity: int


class TeamOut(BaseModel):
    id: int
    name: str
    members: list[TeamMemberOut]


class TeamList(BaseModel):
    items: list[TeamOut]


class ConditionIn(Input):
    key: str = Field(
        description="A system parameter (channel, priority, subject, client_email_domain, created_time, created_weekday) or a custom parameter's key"
    )
    op: Literal["equals", "one_of", "contains", "range", "empty", "not_empty"]
    value: Any = Field(
        None, description="One value; a list (one_of); [low, high] or 'LOW..HIGH' (range)"
    )


class RuleCreate(Input):
    name: Name
    live_chat: str | None = Field(None, description="The live chat's name; none: a global rule")
    match: Literal["all", "any"] = "all"
    conditions: list[ConditionIn] = []
    team: str | None = None
    operators: list[str] = Field([], description="Named operators (usernames) instead of a team")
    strategy: Literal["round-robin", "least-busy"] = "round-robin"
    position: int | None = None


class ConditionOut(BaseModel):
    key: str
    op: str
    value: Any


class RuleOut(BaseModel):
    id: int
    name: str
    live_chat: str | None
    position: int
    match: str
    conditions: list[ConditionOut]
    described: list[str]
    team: str | None
    operators: list[int]
    strategy: str


class RuleList(BaseModel):
    items: list[RuleOut]


class RuleCheckOut(BaseModel):
    rule_id: int
    rule: str
    matched: bool
    reasons: list[str] = Field(description="Why the rule did not match: each failed condition")


class CandidateOut(BaseModel):
    username: str
    name: str
    active: int
    capacity: int


class DecisionOut(BaseModel):
    rule: str | None
    checks: list[RuleCheckOut]
    not_tried: list[str]
    team: str | None
    strategy: str | None
    candidates: list[CandidateOut] = Field(
        description="Online operators under capacity, best first"
    )
    chosen: str | None
    explanation: str
