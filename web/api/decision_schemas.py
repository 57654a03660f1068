"""Request and response models of the decision endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from .schemas import Input

TaskData = dict[Annotated[str, StringConstraints(max_length=255)], Any]


class DecisionDeploy(Input):
    """A DMN XML document (1.1 to 1.5) with one or more decision tables."""

    dmn: Annotated[str, StringConstraints(min_length=1, max_length=1_000_000)]


class DeployedDecisionOut(BaseModel):
    id: str
    name: str
    version: int
    hit_policy: str
    created: bool = Field(description="False when the same content was deployed before")


class DecisionDeployOut(BaseModel):
    decisions: list[DeployedDecisionOut]


class DecisionVersionOut(BaseModel):
    version: int
    name: str
    hit_policy: str
    active: bool
    content_hash: str
    deployed_by: str | None
    deployed_at: datetime


class DecisionOut(BaseModel):
    id: str
    name: str
    latest_version: int | None
    hit_policy: str | None
    versions: list[DecisionVersionOut]


class DecisionList(BaseModel):
    items: list[DecisionOut]


class DecisionTry(Input):
    """A session to read and task data to decide over; the latest version unless `version`."""

    session_id: int = Field(ge=1, lt=2**63)
    data: TaskData = Field(default_factory=dict)
    version: int | None = Field(default=None, ge=1, lt=2**31)


class MatchedRuleOut(BaseModel):
    rule: int = Field(description="1-based row number")
    id: str
    description: str
    outputs: dict[str, Any]


class DecisionTryOut(BaseModel):
    decision: str
    version: int
    session_id: int
    matched: list[MatchedRuleOut]
    result: dict[str, Any] = Field(description="What a business rule task without a result "
                                   "variable writes to task data")  # fmt: skip
    required: dict[str, Any] = Field(description="Outputs of the decisions it requires")
    failure: str | None = Field(description="Why evaluation failed, naming rule and column")
