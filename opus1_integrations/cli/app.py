"""``make_cli``: the typer app with the host's command groups, ``configure`` per integration, and the plugins' own
commands. Each command receives the ``Host`` as click's context object (``ctx.obj``)."""

from __future__ import annotations

from typing import Annotated

import click
import typer

from .. import __version__
from ..contacts.cli import contacts_app
from ..plugins import Plugins
from . import inspect, runs, schedule, sync
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
    )
    app.callback()(root)
    app.command("plugins")(inspect.plugins_command)
    app.command("validate")(validate_command)
    app.command("sync")(sync.sync_command)
    app.add_typer(schedule.schedule_app, name="schedule")
    app.command("diagnose")(inspect.diagnose_command)
    app.command("runs")(runs.runs_command)
    app.command("check")(inspect.check_command)
    app.command("verify")(inspect.verify_command)
    app.add_typer(contacts_app, name="contacts")
    app.add_typer(web_app, name="web")
    plugins.register_commands(app)
    group = typer.main.get_command(app)
    group.add_command(ConfigureGroup(plugins))
    return group
