"""The whole database schema: imports every model module, so `metadata` knows every table.

Alembic, the tests and anything else that needs the complete set of tables use this `metadata`
rather than `models.Base.metadata`, which only knows the modules imported so far.
"""

from __future__ import annotations

from . import (
    app_models,  # noqa: F401  (apps, their fields and items, bindings, session links)
    idempotency,  # noqa: F401  (the idempotency key table)
    preferences,  # noqa: F401  (the user preferences table)
    process_models,  # noqa: F401  (the process tables, event bindings included)
    tokens,  # noqa: F401  (the API token table)
)
from .models import Base

metadata = Base.metadata
