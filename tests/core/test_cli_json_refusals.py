"""Every command that takes --json answers in JSON when it refuses, too: a domain refusal
(exit 1) and a usage error (exit 2) both print one JSON object with an "error"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from bpm_livechat.cli import cli
from tests.support import Desk

# Commands whose every run goes on until stopped (they cannot be swept with dummy values).
RUNS_FOREVER = {"worker"}
EXTRA = {"process start": ["--form", "not json"]}


def _commands(
    group: click.Group, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, click.Command]]:
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        elif any(p.name == "as_json" for p in command.params):
            yield " ".join((*path, name)), command


JSON_COMMANDS = dict(_commands(cli))


def _dummy_args(command: click.Command, junk: Path) -> list[str]:
    """A value for each required argument and option: unknown ids and names, a junk file."""
    args: list[str] = []
    for param in command.params:
        if not param.required:
            continue
        if isinstance(param.type, click.Choice):
            value = str(param.type.choices[0])
        elif isinstance(param.type, click.types.IntParamType):
            value = "999999"
        elif isinstance(param.type, click.Path | click.File):
            value = str(junk)
        else:
            value = "nobody"
        if isinstance(param, click.Option):
            args += [param.opts[0], value]
        else:
            args.append(value)
    return args


@pytest.fixture
def run_json(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    url = engine.url.render_as_string(hide_password=False)
    junk = tmp_path / "junk.txt"
    junk.write_text("this is not BPMN nor Python (\n")

    def invoke(name: str, *extra: str) -> tuple[int, object]:
        command = JSON_COMMANDS[name]
        args = [*name.split(), *_dummy_args(command, junk), *EXTRA.get(name, []), *extra]
        result = CliRunner().invoke(cli, ["--database-url", url, *args, "--json"])
        assert not isinstance(result.exception, Exception) or isinstance(
            result.exception, SystemExit
        ), result.exception
        try:
            answer = json.loads(result.stdout)
        except json.JSONDecodeError:
            pytest.fail(
                f"{name} --json printed no JSON (exit {result.exit_code}): {result.stdout!r}"
            )
        return result.exit_code, answer

    return invoke


def test_the_sweep_sees_the_commands() -> None:
    assert {"process deploy", "process start", "session set", "token create"} <= set(JSON_COMMANDS)


@pytest.mark.parametrize("name", sorted(set(JSON_COMMANDS) - RUNS_FOREVER))
def test_refusal_is_json(run_json, name: str) -> None:  # type: ignore[no-untyped-def]
    code, answer = run_json(name)
    if code != 0:
        assert code in (1, 2), answer  # 2: a usage error found by the command itself
        assert isinstance(answer, dict), answer
        assert answer.get("error") or answer.get("ok") is False, answer


@pytest.mark.parametrize("name", sorted(JSON_COMMANDS))
def test_usage_error_is_json(run_json, name: str) -> None:  # type: ignore[no-untyped-def]
    code, answer = run_json(name, "--no-such-option")
    assert code == 2
    assert isinstance(answer, dict) and "No such option '--no-such-option'" in answer["error"]


def test_process_start_with_an_invalid_form_answers_json(run_json) -> None:  # type: ignore[no-untyped-def]
    code, answer = run_json("process start")
    assert code == 1
    assert answer == {"error": "--form is not valid JSON: Expecting value"}


def test_refused_deploy_lists_the_problems_in_the_same_json(run_json, desk: Desk) -> None:  # type: ignore[no-untyped-def]
    code, answer = run_json("process deploy")
    assert code == 1
    assert answer["error"].startswith("BPMN rejected: not well-formed XML")
    assert answer["errors"][0]["line"] == 1 and "message" in answer["errors"][0]
