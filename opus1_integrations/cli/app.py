"""``make_cli``: the typer app with the host's command groups, ``configure`` per integration, and the plugins' own
commands. Each command receives the ``Host`` as click's context object (``ctx.obj``)."""

from __future__ import annotations

from typing import Annotated

import click
import typer

from .. import __version__
from .contacts import contacts_app
from ..plugins import Plugins
from . import inspect, leavers, runs, schedule, sync
from .configure import ConfigureGroup, validate_command
from .web import web_app


def version_callback(value: bool) -> None:
    """Print the version for ``--version``."""
    if value:
        typer.echo(f"opus1-int {__version__}")
        raise typer.Exit()


def root(
    version: Annotated[
        bool, typer.Option("--version", callback=version_callback, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Sync a studio's opus1 clients to other services."""


def make_cli(plugins: Plugins | None = None) -> click.Group:
    """Build the whole CLI: host commands, ``configure`` per integration, the plugins' own commands (the installed
    plugins unless ``plugins`` is given)."""
    if plugins is None:
        plugins = Plugins()
        plugins.load_entry_points()
    app = typer.Typer(
        name="opus1-int",
        help="Sync a studio's opus1 clients to other services (Mailchimp, ...).",
        no_args_is_help=True,
        pretty_exceptions_show_locals=False,
        add_completion=False,
        rich_markup_mode=None,  # click's plain help, the same for every command (configure's are click commands)
    )
    app.callback()(root)
    app.command("validate", short_help="Check the saved settings live, each failing check with its fix.")(
        validate_command)
    app.command("sync", short_help="Sync one business now, or every business that is due.")(sync.sync_command)
    app.command("diagnose", short_help="List every error with how to fix it.")(inspect.diagnose_command)
    app.command("check", short_help="Is this client in the service? If not, why?")(inspect.check_command)
    app.command("verify", short_help="Compare a random sample of synced contacts live.")(inspect.verify_command)
    app.command("leavers", short_help="Who unsubscribed, bounced or was archived in the service.")(
        leavers.leavers_command)
    app.add_typer(runs.runs_app, name="runs", short_help="The run log: what each sync did.")
    app.add_typer(schedule.schedule_app, name="schedule", short_help="Sync each business when due, or show when.")
    app.add_typer(contacts_app, name="contacts", short_help="Check an opus1 accounts export.")
    app.command("plugins", short_help="List the installed integrations.")(inspect.plugins_command)
    app.add_typer(web_app, name="web", short_help="The Integrations tab in a browser.")
    plugins.register_commands(app)
    group = typer.main.get_command(app)
    group.add_command(ConfigureGroup(plugins))
    # In the order people use them: configure first, the plugins' own commands last.
    first = ["configure", "validate", "sync", "diagnose", "check", "verify", "runs", "schedule", "contacts",
             "plugins"]
    group.commands = {name: group.commands[name] for name in first + sorted(set(group.commands) - set(first))}
    return group
