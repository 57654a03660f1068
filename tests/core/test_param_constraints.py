"""Parameter constraints: set and checked by the catalogue, enforced on every write, from the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bpm_livechat.cli import cli
from bpm_livechat.errors import ValidationError
from bpm_livechat.params.actors import Actor, user_actor
from bpm_livechat.params.catalogue import (
    add_parameter,
    get_definition,
    split_option_labels,
    update_parameter,
)
from bpm_livechat.params.constraints import describe, parse_constraints
from bpm_livechat.params.types import ParamType, format_value
from bpm_livechat.params.values import get_parameters, set_parameters
from tests.support import Desk, open_session


def test_each_type_takes_only_the_constraints_that_fit_it() -> None:
    assert parse_constraints(ParamType.INTEGER, {"min": "1", "max": 5}) == {"min": 1, "max": 5}
    assert parse_constraints(ParamType.MONEY, {"max": "100 EUR"}) == {"max": "100"}
    assert parse_constraints(ParamType.DATE, {"min": "2026-01-01", "max": ""}) == {
        "min": "2026-01-01"
    }
    assert parse_constraints(ParamType.STRING, {"max_length": "8", "pattern": "[A-Z]+-[0-9]+"}) == {
        "max_length": 8,
        "pattern": "[A-Z]+-[0-9]+",
    }
    with pytest.raises(ValidationError) as caught:
        parse_constraints(ParamType.BOOLEAN, {"min": 1, "pattern": "x", "size": 3})
    assert caught.value.fields == {
        "min": "a boolean parameter has no range",
        "pattern": "only string parameters take a pattern, not boolean",
        "size": "unknown constraint (use min, max, min_length, max_length, pattern)",
    }
    with pytest.raises(ValidationError, match="max: is below min"):
        parse_constraints(ParamType.DECIMAL, {"min": "5.5", "max": "2"})
    with pytest.raises(ValidationError, match="min: not a whole number"):
        parse_constraints(ParamType.INTEGER, {"min": "one"})
    with pytest.raises(ValidationError, match="pattern: not a regular expression"):
        parse_constraints(ParamType.STRING, {"pattern": "(unclosed"})
    with pytest.raises(ValidationError, match=r"like \(a\+\)\+, can take forever"):
        parse_constraints(ParamType.STRING, {"pattern": "(a+)+$"})


def test_describe_says_the_constraints_in_words() -> None:
    assert describe(ParamType.INTEGER, {"min": 1, "max": 5}) == "1 to 5"
    assert describe(ParamType.STRING, {"max_length": 8, "pattern": "[A-Z]+"}) == (
        "at most 8 characters; matching [A-Z]+"
    )
    assert describe(ParamType.MONEY, {"min": "0.50"}) == "at least 0.50"


def test_every_write_is_checked_people_and_processes_alike(db_session: Session, desk: Desk) -> None:
    db = db_session
    add_parameter(
        db, "satisfaction", "integer", "Satisfaction (1-5)", constraints={"min": 1, "max": 5}
    )
    add_parameter(db, "order_ref", "string", "Order", constraints={"pattern": "ORD-[0-9]{4}"})
    add_parameter(db, "quote", "money", "Quote", constraints={"max": "1000"})
    session = open_session(db, desk.support)
    with pytest.raises(ValidationError) as caught:
        set_parameters(db, session, {"satisfaction": 9, "order_ref": "x"}, user_actor(desk.admin))
    assert caught.value.fields == {
        "satisfaction": "must be at most 5",
        "order_ref": "does not match the pattern ORD-[0-9]{4}",
    }
    with pytest.raises(ValidationError, match="'quote' \\(money\\): must be at most 1000"):
        set_parameters(
            db, session, {"quote": "1200 EUR"}, Actor(desk.admin, process_id="p", task_id="t")
        )
    set_parameters(
        db, session, {"satisfaction": "4", "order_ref": "ORD-0042"}, user_actor(desk.admin)
    )
    assert get_parameters(db, session.id)["satisfaction"] == 4


def test_constraints_that_stored_values_break_are_refused(db_session: Session, desk: Desk) -> None:
    db = db_session
    add_parameter(db, "score", "decimal", "Score")
    session = open_session(db, desk.support)
    set_parameters(db, session, {"score": "7.5"}, user_actor(desk.admin))
    with pytest.raises(ValidationError) as caught:
        update_parameter(db, "score", constraints={"max": "5"})
    assert f"session {session.id}: '7.5' must be at most 5" in caught.value.message
    assert caught.value.fields == {"constraints": "1 stored values break them"}
    update_parameter(db, "score", constraints={"max": "10"})
    assert get_parameters(db, session.id)["score"] == Decimal("7.5")


Run = Callable[..., Result]


@pytest.fixture
def run(engine: Engine) -> Run:
    url = engine.url.render_as_string(hide_password=False)
    return lambda *args: CliRunner().invoke(cli, ["--database-url", url, *args])


def test_cli_sets_merges_and_clears_constraints(run: Run) -> None:
    added = run(
        "param",
        "add",
        "satisfaction",
        "--type",
        "integer",
        "--label",
        "S",
        "--min",
        "1",
        "--max",
        "5",
        "--json",
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["constraints"] == {"min": 1, "max": 5}
    updated = run("param", "update", "satisfaction", "--max", "10", "--json")
    assert json.loads(updated.stdout)["constraints"] == {"min": 1, "max": 10}
    cleared = run("param", "update", "satisfaction", "--min", "", "--json")
    assert json.loads(cleared.stdout)["constraints"] == {"max": 10}
    refused = run("param", "add", "flag", "--type", "boolean", "--label", "F", "--max", "2")
    assert refused.exit_code == 1
    assert refused.stderr == "error: invalid constraints: max: a boolean parameter has no range\n"


def test_choices_show_their_labels_and_keep_their_keys(db_session: Session, desk: Desk) -> None:
    db = db_session
    add_parameter(
        db,
        "outcome",
        "choice",
        "Outcome",
        options=["resolved", "follow_up"],
        option_labels={"follow_up": "Follow-up needed", "resolved": "resolved"},
    )
    add_parameter(
        db, "topics", "multichoice", "Topics", options=["a", "b"], option_labels={"b": "Bee"}
    )
    session = open_session(db, desk.support)
    set_parameters(
        db, session, {"outcome": "follow_up", "topics": ["a", "b"]}, user_actor(desk.admin)
    )
    assert get_parameters(db, session.id)["outcome"] == "follow_up"  # data keeps the key
    outcome = get_definition(db, "outcome")
    assert outcome.option_labels == {"follow_up": "Follow-up needed"}  # a label = key is dropped
    assert format_value(ParamType.CHOICE, "follow_up", outcome.option_labels) == "Follow-up needed"
    assert format_value(ParamType.MULTICHOICE, ["a", "b"], {"b": "Bee"}) == "a, Bee"
    with pytest.raises(ValidationError, match="label for 'gone', which is not an option"):
        update_parameter(db, "outcome", option_labels={"gone": "Gone"})
    update_parameter(db, "outcome", options=["follow_up", "escalated"])  # resolved removed
    assert get_definition(db, "outcome").option_labels == {"follow_up": "Follow-up needed"}
    assert split_option_labels(["a", "b = Bee ", "c="]) == (["a", "b", "c"], {"b": "Bee"})


def test_cli_options_with_labels(run: Run) -> None:
    added = run(
        "param", "add", "tier", "--type", "choice", "--label", "Tier",
        "--option", "gold=Gold tier", "--option", "basic", "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    row = json.loads(added.stdout)
    assert (row["options"], row["option_labels"]) == (["gold", "basic"], {"gold": "Gold tier"})
