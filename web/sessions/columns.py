"""What the sessions list shows: columns from the parameter catalogue, typed cells and filters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bpm_livechat.models import SupportSession
from bpm_livechat.params.catalogue import list_parameters
from bpm_livechat.params.types import ParamType, format_value
from bpm_livechat.sessions.lifecycle import system_values
from bpm_livechat.sessions.search import Filter

TEXT_TYPES = frozenset({"string", "text", "email", "phone", "url"})
RANGE_TYPES = frozenset({"integer", "decimal", "money", "date", "datetime"})
NUMERIC_TYPES = frozenset({"integer", "decimal", "money"})


@dataclass(frozen=True)
class Column:
    """One property a user can show, filter and sort by."""

    key: str
    label: str
    type: str
    system: bool
    options: tuple[str, ...] = ()
    option_labels: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)

    @property
    def filter_kind(self) -> str:
        """How the filter input looks: text (contains), choice, boolean or range (min/max)."""
        if self.type in TEXT_TYPES:
            return "text"
        if self.type in {"choice", "multichoice"}:
            return "choice"
        if self.type == "boolean":
            return "boolean"
        return "range"

    @property
    def input_type(self) -> str:
        """The HTML input type of this column's range filter."""
        if self.type in {"date", "datetime"}:
            return "date"
        return "number" if self.type in {"integer", "decimal"} else "text"

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC_TYPES


@dataclass(frozen=True)
class Cell:
    """A formatted value and how to show it (badge kind, right-aligned number)."""

    text: str
    badge: str | None = None
    numeric: bool = False


def catalogue(db: Session) -> dict[str, Column]:
    """Every showable column: the id, the system parameters, then active custom parameters."""
    columns = {"id": Column("id", "No.", "integer", True)}
    for p in list_parameters(db, include_archived=False):
        columns[p.key] = Column(p.key, p.label, p.type, p.system, p.options, p.option_labels)
    return columns


def row_cells(
    session: SupportSession, params: Mapping[str, object], columns: Sequence[Column]
) -> list[Cell]:
    """The cells of one session in the chosen columns, formatted by type."""
    system = system_values(session)
    cells = []
    for column in columns:
        if column.key == "id":
            cells.append(Cell(str(session.id), numeric=True))
            continue
        value = system[column.key] if column.system else params.get(column.key)
        if column.key in {"status", "priority"}:
            cells.append(Cell(str(value), badge=f"{column.key}-{value}"))
            continue
        text = format_value(ParamType(column.type), value, column.option_labels)
        cells.append(Cell(text, numeric=column.numeric))
    return cells


def parse_filters(
    args: Mapping[str, str], columns: Iterable[Column]
) -> tuple[list[Filter], dict[str, str]]:
    """Filters from query arguments `f.KEY` (contains or equals), `f.KEY.min`, `f.KEY.max`.

    Returns the filters and the entered values (to show them back in the form).
    """
    filters: list[Filter] = []
    entered: dict[str, str] = {}
    for column in columns:
        if column.key == "id":
            continue
        for suffix, op in _ops(column):
            name = f"f.{column.key}{suffix}"
            raw = args.get(name, "").strip()[:255]
            if not raw:
                continue
            entered[name] = raw
            filters.append(Filter(column.key, op, raw))
    return filters, entered


def _ops(column: Column) -> tuple[tuple[str, str], ...]:
    kind = column.filter_kind
    if kind == "text":
        return (("", "contains"),)
    if kind == "range":
        return ((".min", "gte"), (".max", "lte"))
    return (("", "eq"),)
