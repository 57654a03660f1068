"""`bpm-livechat param ...`: the parameter catalogue and custom parameter definitions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

import click

from bpm_livechat.params.catalogue import (
    add_parameter,
    archive_parameter,
    get_definition,
    info,
    list_parameters,
    restore_parameter,
    split_option_labels,
    update_parameter,
)

from .common import emit, handles_errors, json_option, transaction

F = TypeVar("F", bound=Callable[..., Any])
_CONSTRAINTS = (
    ("--min", "min", "Smallest value (numbers, money amounts, dates)."),
    ("--max", "max", "Largest value (numbers, money amounts, dates)."),
    ("--min-length", "min_length", "Fewest characters (string, text)."),
    ("--max-length", "max_length", "Most characters (string, text)."),
    ("--pattern", "pattern", "A regular expression the whole value must match (string)."),
)


def constraint_options(command: F) -> F:
    """--min, --max, --min-length, --max-length, --pattern (an empty value clears one)."""
    for flag, name, text in reversed(_CONSTRAINTS):
        command = click.option(flag, name, default=None, help=text)(command)
    return command


def _given(values: dict[str, Any]) -> dict[str, Any]:
    return {name: values.pop(name) for _f, name, _t in _CONSTRAINTS if values.get(name) is not None}


@click.group()
def param() -> None:
    """System and custom session parameters."""


def _row(entry: Any) -> dict[str, Any]:
    data = asdict(entry)
    data["options"] = list(entry.options)
    data["option_labels"] = dict(entry.option_labels)
    data["constraints"] = dict(entry.constraints)
    return data


@param.command("list")
@click.option("--active", is_flag=True, help="Leave archived parameters out.")
@json_option
@handles_errors
def list_(active: bool, as_json: bool) -> None:
    """List system and custom parameters."""
    with transaction() as db:
        rows = [_row(p) for p in list_parameters(db, include_archived=not active)]

    def text() -> str:
        lines = []
        for p in rows:
            flags = [
                f
                for f, on in (
                    ("system", p["system"]),
                    ("archived", p["archived"]),
                    ("read-only", p["read_only"] and not p["system"]),
                    ("required-to-close", p["required_to_close"]),
                )
                if on
            ]
            lines.append(f"{p['key']:<24} {p['type']:<12} {p['label']:<28} {' '.join(flags)}")
        return "\n".join(lines)

    emit(rows, as_json, text)


@param.command("add")
@click.argument("key")
@click.option("--type", "type_name", required=True)
@click.option("--label", required=True)
@click.option("--description", default="")
@click.option(
    "--option",
    "options",
    multiple=True,
    help="An option of a choice or multichoice parameter: KEY or KEY=Label.",
)
@click.option("--read-only", is_flag=True, help="Only processes and admins may set it.")
@click.option(
    "--required-to-close", is_flag=True, help="A session cannot be closed while it is empty."
)
@constraint_options
@json_option
@handles_errors
def add(
    key: str,
    type_name: str,
    label: str,
    description: str,
    options: tuple[str, ...],
    read_only: bool,
    required_to_close: bool,
    as_json: bool,
    **limits: Any,
) -> None:
    """Add a custom parameter to all sessions."""
    with transaction() as db:
        definition = add_parameter(
            db,
            key,
            type_name,
            label,
            description=description,
            options=split_option_labels(options)[0],
            option_labels=split_option_labels(options)[1],
            read_only=read_only,
            required_to_close=required_to_close,
            constraints=_given(limits),
        )
        row = _row(info(definition))
    emit(row, as_json, f"parameter {key!r} added")


@param.command("update")
@click.argument("key")
@click.option("--label")
@click.option("--description")
@click.option("--type", "type_name")
@click.option(
    "--option", "options", multiple=True, help="The full new list of options (KEY or KEY=Label)."
)
@click.option("--position", type=int, help="New position (1 is first).")
@click.option("--read-only/--not-read-only", default=None)
@click.option("--required-to-close/--not-required-to-close", default=None)
@constraint_options
@json_option
@handles_errors
def update(
    key: str,
    label: str | None,
    description: str | None,
    type_name: str | None,
    options: tuple[str, ...],
    position: int | None,
    read_only: bool | None,
    required_to_close: bool | None,
    as_json: bool,
    **limits: Any,
) -> None:
    """Change a custom parameter's definition (constraints given are set, the others kept)."""
    given = _given(limits)
    with transaction() as db:
        constraints = {**get_definition(db, key).constraints, **given} if given else None
        definition = update_parameter(
            db,
            key,
            label=label,
            description=description,
            type_name=type_name,
            options=split_option_labels(options)[0] if options else None,
            option_labels=split_option_labels(options)[1] if options else None,
            position=position,
            read_only=read_only,
            required_to_close=required_to_close,
            constraints=constraints,
        )
        row = _row(info(definition))
    emit(row, as_json, f"parameter {key!r} updated")


@param.command("archive")
@click.argument("key")
@json_option
@handles_errors
def archive(key: str, as_json: bool) -> None:
    """Archive a custom parameter (values are kept; restore brings it back)."""
    with transaction() as db:
        row = _row(info(archive_parameter(db, key)))
    emit(row, as_json, f"parameter {key!r} archived")


@param.command("restore")
@click.argument("key")
@json_option
@handles_errors
def restore(key: str, as_json: bool) -> None:
    """Restore an archived custom parameter."""
    with transaction() as db:
        row = _row(info(restore_parameter(db, key)))
    emit(row, as_json, f"parameter {key!r} restored")
