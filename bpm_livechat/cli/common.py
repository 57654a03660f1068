"""What every CLI command shares: the database from the context, one transaction, output, errors."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NoReturn, ParamSpec, TypeVar

import click
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from bpm_livechat.clock import SYSTEM_CLOCK, Clock
from bpm_livechat.config import database_url, sandbox_settings
from bpm_livechat.errors import BpmLivechatError
from bpm_livechat.params.types import Money
from bpm_livechat.persistence.engines import make_engine
from bpm_livechat.persistence.transactions import session_factory, unit_of_work
from bpm_livechat.processes.engine.engine import EngineLimits, ProcessEngine
from bpm_livechat.processes.engine.script_environment import SandboxEnvironment
from bpm_livechat.sessions.events import SessionEvent, record_event
from script_runtime import ScriptPool

P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class CliState:
    """Where the CLI assembles the product: the database engine, the process engine and its
    script pool, each made on first use (a command that runs no script starts no sandbox)
    and closed when the command ends."""

    url: str | None = None
    clock: Clock = SYSTEM_CLOCK
    _engine: Engine | None = None
    _processes: ProcessEngine | None = None

    @property
    def engine(self) -> Engine:
        """The database engine, made on first use and disposed when the command ends."""
        if self._engine is None:
            self._engine = make_engine(database_url(self.url))
            click.get_current_context().call_on_close(self._engine.dispose)
        return self._engine

    @property
    def processes(self) -> ProcessEngine:
        """The process engine on a one-worker script pool (a command runs one step at a time)."""
        if self._processes is None:
            settings = sandbox_settings()
            pool = ScriptPool(1)
            click.get_current_context().call_on_close(pool.close)
            limits = EngineLimits(step_seconds=settings.step_seconds)
            self._processes = ProcessEngine(
                SandboxEnvironment(pool), clock=self.clock, limits=limits
            )
        return self._processes


def cli_state() -> CliState:
    """The running command's state."""
    state = click.get_current_context().find_object(CliState)
    assert state is not None
    return state


@contextmanager
def transaction() -> Iterator[Session]:
    """One database session and transaction for the running command; commits on success."""
    with unit_of_work(session_factory(cli_state().engine)) as db:
        yield db


@contextmanager
def dry_transaction() -> Iterator[Session]:
    """One database session whose transaction is never committed (a dry run)."""
    with session_factory(cli_state().engine)() as db:
        yield db  # closing the session rolls back whatever the block did


def wants_json() -> bool:
    """True when the running command was given --json."""
    context = click.get_current_context(silent=True)
    return bool(context is not None and context.params.get("as_json"))


def fail(message: str, details: dict[str, Any] | None = None) -> NoReturn:
    """Report rejected input: one line on stderr, exit status 1; with --json also a JSON object
    on stdout, {"error": message} and the `details`."""
    if wants_json():
        emit({"error": message, **(details or {})}, True)
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


class JsonErrorsGroup(click.Group):
    """The top command group: a usage error of a command given --json is answered in JSON too."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["bpm_livechat.args"] = list(args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        args = ctx.meta.get("bpm_livechat.args", [])
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            if "--json" not in args:
                raise
            click.echo(json.dumps({"error": exc.format_message()}, ensure_ascii=False, indent=2))
            exc.show()
            sys.exit(exc.exit_code)


def handles_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn domain errors into a one-line message and exit status 1 (never a traceback)."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except BpmLivechatError as exc:
            fail(exc.message)
        except IntegrityError as exc:
            fail(f"conflicting change, nothing was written: {exc.orig}")
        except OperationalError as exc:
            fail(f"database error: {exc.orig}")

    return wrapper


def to_jsonable(value: Any) -> Any:
    """Plain JSON data from typed values (dates, decimals, money)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Money):
        return {"amount": str(value.amount), "currency": value.currency}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return value


def emit(data: Any, as_json: bool, text: Callable[[], str] | str | None = None) -> None:
    """Print `data` as JSON, or the human text form."""
    if as_json:
        click.echo(json.dumps(to_jsonable(data), ensure_ascii=False, indent=2))
    elif callable(text):
        click.echo(text())
    elif text is not None:
        click.echo(text)
    else:
        click.echo(json.dumps(to_jsonable(data), ensure_ascii=False, indent=2))


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


def record(
    db: Session, event: SessionEvent, session_id: int, data: dict[str, Any] | None = None
) -> bool:
    """Record a session event for the workers (in the command's transaction); True when some
    process, waiting instance or webhook cares (`bpm-livechat worker` then runs it)."""
    return record_event(db, cli_state().clock, event, session_id, data)
