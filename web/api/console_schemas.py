"""Request and response models of the console's endpoints: assignment and presence."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from .schemas import Input

PresenceName = Literal["online", "away", "offline"]


class SessionAssign(Input):
    operator: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="The username of an operator of the session's live chat"
    )
    # The session's `version` the caller saw (or If-Match): 409 when it changed since.
    version: int | None = Field(None, ge=1, le=2**31 - 1)


class PresenceIn(Input):
    presence: PresenceName


class PresenceOut(BaseModel):
    username: str
    presence: PresenceName = Field(
        description="As routing reads it now: Online turns Away after inactivity"
    )
    chosen: PresenceName = Field(description="What the user set")
    last_seen_at: datetime | None
    away_after_minutes: float
