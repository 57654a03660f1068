"""The `bpm-livechat` command: set-up and every admin action in scriptable form."""

from __future__ import annotations

from importlib.metadata import entry_points

import click

from .app_cmd import app_group
from .common import CliState, JsonErrorsGroup
from .decision_cmd import decision
from .event_cmd import bind_event_cmd
from .livechat_cmd import livechat
from .monitor_cmd import instance_steps_cmd, process_instances_cmd
from .param_cmd import param
from .process_cmd import instance, process, task
from .quick_reply_cmd import quick_reply
from .routing_cmd import routing, team
from .script_cmd import script
from .session_cmd import session
from .setup_cmd import demo, init
from .token_cmd import token
from .user_cmd import user
from .webhook_cmd import webhook
from .worker_cmd import jobs, worker


@click.group(cls=JsonErrorsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database-url",
    envvar="BPM_LIVECHAT_DATABASE_URL",
    default=None,
    help="SQLAlchemy URL; default: a SQLite file in the instance folder.",
)
@click.pass_context
def cli(ctx: click.Context, database_url: str | None) -> None:
    """Business processes for live chat support."""
    ctx.obj = CliState(url=database_url)


for command in (
    init, demo, user, livechat, param, session, process, task, instance, token, script,
    worker, jobs, webhook, quick_reply, team, routing,
):  # fmt: skip
    cli.add_command(command)
process.add_command(bind_event_cmd)
process.add_command(process_instances_cmd)
instance.add_command(instance_steps_cmd)
cli.add_command(app_group)
cli.add_command(decision)


def _add_plugin_commands() -> None:
    # Outer layers (web: `serve`) register commands by entry point, keeping imports one-way.
    for entry in entry_points(group="bpm_livechat.commands"):
        try:
            command = entry.load()
        except ImportError:
            continue
        cli.add_command(command, entry.name)


def main() -> None:
    """Console entry point."""
    _add_plugin_commands()
    cli(prog_name="bpm-livechat")
