"""The health check: answers without a token; 200 only while the database answers too."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.orm import Session

from .spec import Registry

api = Registry()


class Health(BaseModel):
    status: Literal["ok"] = "ok"


@api.operation(
    "GET", "/health", summary="Health check (no token): the server and its database answer",
    tag="meta", response=Health, auth=False, errors=(400, 503),
)  # fmt: skip
def health_api(db: Session) -> Health:
    """The server process serves requests and its database answers (else 503, Retry-After)."""
    db.execute(text("SELECT 1"))
    return Health()
