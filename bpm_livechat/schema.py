"""The whole database schema: imports every model module, so `metadata` knows every table.

Alembic, the tests and anything else that needs the complete set of tables use this `metadata`
rather than `models.Base.metadata`, which only knows the modules imported so far.
"""

from __future__ import annotations

from . import (
    process_models,  # noqa: F401  (the process tables)
)
from .models import Base

metadata = Base.metadata
