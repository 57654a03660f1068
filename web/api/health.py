"""A liveness probe: answers without a token or the database (load balancers, benchmarks)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from .spec import Registry

api = Registry()


class Health(BaseModel):
    status: Literal["ok"] = "ok"


@api.operation(
    "GET", "/health", summary="Liveness probe (no token, no database)", tag="meta",
    response=Health, auth=False, errors=(400,),
)  # fmt: skip
def health_api() -> Health:
    """The server process is up and serving requests."""
    return Health()
