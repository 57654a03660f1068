"""Reading camunda:formData from a start event or user task, with every definition problem found."""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, replace
from datetime import date

from lxml import etree

from bpm_livechat.processes.bpmn.xml import CAMUNDA_NS, NSMAP, line_of
from bpm_livechat.processes.forms import (
    FIELD_TYPES,
    PREFILL_SOURCES,
    FieldRejected,
    FormField,
    FormOption,
    check_constraints,
    convert_value,
    parse_date,
)

RESERVED_FIELD_IDS = frozenset({"session"})
KNOWN_CONSTRAINTS = ("required", "readonly", "minlength", "maxlength", "min", "max", "pattern")
_IDENTIFIER_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class FieldProblem:
    """A malformed form definition: the field id (if any), its line and what is wrong."""

    field_id: str | None
    line: int | None
    message: str


@dataclass(frozen=True)
class FormDefinition:
    """The well-formed fields of a form and the problems of the others."""

    fields: tuple[FormField, ...]
    problems: tuple[FieldProblem, ...]


def form_field_nodes(element: etree._Element) -> list[etree._Element]:
    """The camunda:formField elements of a start event or user task."""
    nodes = element.xpath(
        "./bpmn:extensionElements/camunda:formData/camunda:formField", namespaces=NSMAP
    )
    return list(nodes) if isinstance(nodes, list) else []


def read_form(element: etree._Element) -> FormDefinition:
    """Read the form of a start event or user task; bad fields are left out and reported."""
    fields: list[FormField] = []
    problems: list[FieldProblem] = []
    seen: set[str] = set()
    for node in form_field_nodes(element):
        found = _read_field(node)
        if isinstance(found, FieldProblem):
            problems.append(found)
        elif found.id in seen:
            problems.append(FieldProblem(found.id, found.line, "duplicate field id"))
        else:
            seen.add(found.id)
            fields.append(found)
    return FormDefinition(tuple(fields), tuple(problems))


def _read_field(node: etree._Element) -> FormField | FieldProblem:
    field_id = node.get("id") or ""
    line = line_of(node)

    def problem(message: str) -> FieldProblem:
        return FieldProblem(field_id or None, line, message)

    if not field_id:
        return problem("form field without an id")
    if not _IDENTIFIER_RE.fullmatch(field_id) or keyword.iskeyword(field_id):
        return problem("field id must be a Python identifier (letters, digits, underscore)")
    if field_id in RESERVED_FIELD_IDS:
        return problem(f"field id {field_id!r} is reserved for the session object in scripts")
    type_ = node.get("type") or "string"
    if type_ not in FIELD_TYPES:
        return problem(f"unknown field type {type_!r}; use one of: {', '.join(FIELD_TYPES)}")
    options = _read_options(node)
    if isinstance(options, str):
        return problem(options)
    if type_ != "enum" and options:
        return problem("only enum fields can have camunda:value options")
    default = node.get("defaultValue")
    if default is not None and "${" in default:
        return problem("expression default values (${...}) are not supported")
    source = _prefill_property(node)
    if source is not None and source not in PREFILL_SOURCES:
        return problem(f"unknown prefill {source!r}; use one of: {', '.join(PREFILL_SOURCES)}")
    form_field = FormField(
        id=field_id,
        label=node.get("label") or field_id,
        type=type_,
        options=options,
        default=default,
        prefill=source,
        line=line,
    )
    constrained = _apply_constraints(form_field, node)
    return problem(constrained) if isinstance(constrained, str) else constrained


def _prefill_property(node: etree._Element) -> str | None:
    """The field's camunda:property name="prefill" value, if it has one."""
    path = f"{{{CAMUNDA_NS}}}properties/{{{CAMUNDA_NS}}}property"
    for prop in node.iterfind(path):
        if prop.get("name") == "prefill":
            return (prop.get("value") or "").strip()
    return None


def _read_options(node: etree._Element) -> tuple[FormOption, ...] | str:
    options: list[FormOption] = []
    for value in node.iterchildren(f"{{{CAMUNDA_NS}}}value"):
        option_id = value.get("id")
        if not option_id:
            return "enum value without an id"
        if option_id in {o.id for o in options}:
            return f"duplicate enum value {option_id!r}"
        options.append(FormOption(option_id, value.get("name") or option_id))
    if node.get("type") == "enum" and not options:
        return "enum field without camunda:value options"
    return tuple(options)


class _BadConstraint(Exception):
    """Internal: a camunda:constraint is malformed; the message says why."""


def _apply_constraints(form_field: FormField, node: etree._Element) -> FormField | str:
    """The field with its camunda:constraint settings, or the reason they are invalid."""
    settings: dict[str, object] = {}
    path = f"{{{CAMUNDA_NS}}}validation/{{{CAMUNDA_NS}}}constraint"
    for constraint in node.iterfind(path):
        name = constraint.get("name") or ""
        if name not in KNOWN_CONSTRAINTS:
            return f"unknown constraint {name!r}; use one of: {', '.join(KNOWN_CONSTRAINTS)}"
        if name in settings:
            return f"constraint {name!r} given twice"
        try:
            settings[name] = _constraint_value(form_field.type, name, constraint.get("config"))
        except _BadConstraint as exc:
            return str(exc)
    return _check_consistency(replace(form_field, **settings))  # type: ignore[arg-type]


def _constraint_value(field_type: str, name: str, config: str | None) -> object:
    """The parsed config of one constraint, or _BadConstraint."""
    if name in ("required", "readonly"):
        return True
    if config is None or not config.strip():
        raise _BadConstraint(f"constraint {name!r} needs a config value")
    if name == "pattern":
        try:
            re.compile(config)
        except re.error as exc:
            raise _BadConstraint(f"invalid pattern {config!r}: {exc}") from None
        return config
    if name in ("minlength", "maxlength"):
        if field_type != "string":
            raise _BadConstraint(f"{name} applies to string fields, not {field_type}")
        value = _whole_number(name, config)
        if value < 0:
            raise _BadConstraint(f"{name} must not be negative")
        return value
    if field_type == "date":
        try:
            return parse_date(config)
        except FieldRejected as exc:
            raise _BadConstraint(f"{name} {config!r} is {exc.reason}") from None
    if field_type != "long":
        raise _BadConstraint(f"{name} applies to long and date fields, not {field_type}")
    return _whole_number(name, config)


def _whole_number(name: str, config: str) -> int:
    try:
        return int(config.strip())
    except ValueError:
        raise _BadConstraint(f"{name} {config!r} is not a whole number") from None


def _check_consistency(form_field: FormField) -> FormField | str:
    low, high = form_field.min, form_field.max
    if isinstance(low, int | date) and isinstance(high, int | date) and low > high:  # type: ignore[operator]
        return f"min {low} is greater than max {high}"
    shortest, longest = form_field.minlength, form_field.maxlength
    if shortest is not None and longest is not None and shortest > longest:
        return f"minlength {shortest} is greater than maxlength {longest}"
    if form_field.default is not None and form_field.default.strip():
        try:
            check_constraints(form_field, convert_value(form_field, form_field.default))
        except FieldRejected as exc:
            return f"defaultValue {form_field.default!r} is invalid: {exc.reason}"
    return form_field
