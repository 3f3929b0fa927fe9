"""``opus1-int configure INTEGRATION`` (a sub-command per integration, its options read from the settings schema)
and ``opus1-int validate INTEGRATION``."""

from __future__ import annotations

import sys

import click
import typer

from .. import settings as settings_store
from ..errors import SettingsInvalid
from ..exit_codes import ExitCode
from ..host import Host
from ..integration import Integration
from ..output import emit_json, messages, results, safe
from ..plugins import Plugins
from ..services import configure as configure_service
from .options import Business, Integration as IntegrationArg, Json
from .render import check_mark


def option_name(prop: str) -> str:
    """The command-line spelling of a settings property: ``user_id`` -> ``--user-id``."""
    return "--" + prop.replace("_", "-")


class ConfigureGroup(click.Group):
    """Lists one sub-command per loaded integration and builds each from its settings schema on demand."""

    def __init__(self, plugins: Plugins, **kwargs):
        super().__init__(name="configure", help="Save an integration's settings for a business (checked live first).",
                         short_help="Save an integration's settings, checked live first.",
                         **kwargs)
        self.plugins = plugins

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The integrations that loaded."""
        return self.plugins.names()

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        """The ``configure`` command of one integration, built from its settings schema."""
        if name not in self.plugins.loaded:
            return None
        return _build_command(name, Integration(self.plugins, name).settings_schema())  # broken: exit 4


def _build_command(name: str, schema: dict) -> click.Command:
    props = schema.get("properties", {})
    secrets = settings_store.secret_fields(schema)
    params: list[click.Parameter] = []
    for prop, spec in props.items():
        kind = spec.get("type")
        help_text = spec.get("description", "")
        if kind == "boolean":
            params.append(click.Option([f"{option_name(prop)}/--no-{prop.replace('_', '-')}", prop], default=None,
                                       help=help_text))
        elif kind == "array":
            params.append(click.Option([option_name(prop), prop], multiple=True, default=None,
                                       help=help_text + " (repeat the option for several values)"))
        else:
            click_type = {"integer": int, "number": float}.get(kind, str)
            if "enum" in spec:
                click_type = click.Choice([str(v) for v in spec["enum"]])
            params.append(click.Option([option_name(prop), prop], type=click_type, default=None, help=help_text))
        if prop in secrets:
            params.append(click.Option([option_name(prop) + "-env", f"{prop}__env"], metavar="VAR", default=None,
                                       help=f"Keep {prop} in this environment variable; only its name is stored."))
    params += [
        click.Option(["--contacts"], metavar="PATH", default=None,
                     help="The business's opus1 accounts export (JSON Lines, JSON or CSV) that syncs read."),
        click.Option(["--disable"], is_flag=True, default=False, help="Save the settings but disable the integration."),
        click.Option(["--every"], type=click.FloatRange(min=0, min_open=True), metavar="HOURS", default=None,
                     help="Sync this business every HOURS hours when run by `sync --all` or `schedule run` "
                          "(fractions allowed; a new business: 24)."),
        click.Option(["--business", "-b"], default="default", show_default=True, help="The business (studio) id."),
        click.Option(["--json", "as_json"], is_flag=True, default=False, help="Print the result as JSON on stdout."),
    ]

    def callback(contacts, disable, every, business, as_json, **values):
        given = {}
        for prop in props:
            value = values.get(prop)
            if prop in secrets and values.get(f"{prop}__env"):
                given[prop] = settings_store.env_reference(values[f"{prop}__env"])
            elif value not in (None, ()):
                given[prop] = list(value) if isinstance(value, tuple) else value
        host: Host = click.get_current_context().obj
        stored = host.stored(name, business)
        for prop in secrets & set(values):
            if values.get(prop):
                messages().print(f"[yellow]warning:[/] a secret given as {option_name(prop)} VALUE is visible to "
                                 f"other users of this machine while the command runs, and is stored in the state "
                                 f"database (readable by you only); {option_name(prop)}-env VAR keeps it in an "
                                 "environment variable instead")
        have = {**(stored.settings if stored else {}), **given}
        for prop in schema.get("required", []):
            if prop not in have:
                given[prop] = _ask(prop, props[prop], prop in secrets)
        saved = configure_service.configure(host, name, business, given, contacts_path=contacts,
                                            enabled=not disable, interval_hours=every)
        if as_json:
            emit_json(saved.to_dict())
        else:
            out = results()
            if saved.enabled:
                state = f"saved and enabled (synced every {saved.interval_hours:g} hours when scheduled)"
            elif disable:
                state = "saved, disabled"
            else:
                state = "saved, not enabled yet: no opus1 accounts export is set"
            out.print(f"[green]✓[/] {name} settings for business [bold]{safe(business)}[/] {state}.")
            if saved.contacts_path:
                out.print(f"  export: {safe(saved.contacts_path)} (absolute, so a scheduled sync finds it)")
            elif not disable:
                out.print(f"  enable it with `opus1-int configure {name} --business {business} --contacts PATH`")
        return 0

    return click.Command(name, params=params, callback=callback,
                         help=schema.get("description", f"Configure {name}."))


def _ask(prop: str, spec: dict, secret: bool) -> str:
    if not sys.stdin.isatty():
        raise SettingsInvalid(
            f"setting {prop!r} is required",
            hint=f"pass {option_name(prop)}" + (f" or {option_name(prop)}-env VAR" if secret else ""),
        )
    label = spec.get("title") or prop.replace("_", " ")
    return click.prompt(label, hide_input=secret, err=True)


def validate_command(ctx: typer.Context, integration: IntegrationArg, business: Business = "default",
                     as_json: Json = False) -> None:
    """Check the saved settings live: each failing check says how to fix it."""
    checks = configure_service.validate(ctx.obj, integration, business)
    if as_json:
        emit_json([c.to_dict() for c in checks])
    else:
        out = results()
        for check in checks:
            out.print(f"{check_mark(check.ok)} {check.name}: {safe(check.message)}")
            if not check.ok and check.hint:
                out.print(f"    [dim]fix:[/] {safe(check.hint)}")
    if not all(c.ok for c in checks):
        raise typer.Exit(ExitCode.SETTINGS)
