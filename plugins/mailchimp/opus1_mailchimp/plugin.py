"""The Mailchimp integration's hooks: thin wrappers over the modules that do the work."""

from __future__ import annotations

from opus1_integrations.api import Finding, hookimpl

from . import leavers as leavers_list
from . import ledger
from .checks import refusal, run_checks
from .client import ApiError
from .commands import mailchimp_app
from .connection import connect, schema, with_defaults
from .live import lookup_members, verify_contacts
from .sync import run_sync


@hookimpl
def settings_schema():
    """The Mailchimp settings: User ID, API key (secret), Audience ID and the sync's options."""
    return schema()


@hookimpl
def migrations():
    """The table of members this plugin synced."""
    return ledger.migrations


@hookimpl
def register_commands(cli):
    """Add ``opus1-int mailchimp sandbox``, ``demo`` and ``leavers``."""
    cli.add_typer(mailchimp_app, name="mailchimp")


@hookimpl
def configure(context, settings):
    """Refuse settings that fail a live check: nothing is saved then."""
    error = refusal(_checks(settings))
    if error is not None:
        raise error
    return settings


@hookimpl
def validate(context, settings):
    """Live checks: key accepted, key of the User ID, audience exists, FNAME/LNAME merge fields."""
    return _checks(settings)


@hookimpl
def sync(context, settings, audience, run, options):
    """Sync the business's contacts to its audience."""
    return run_sync(context, with_defaults(settings), audience, run, options)


@hookimpl
def diagnose(context, settings):
    """Every failing live check as an error with its fix."""
    return [Finding("error", c.name.replace(" ", "_"), c.message, c.hint) for c in _checks(settings) if not c.ok]


@hookimpl
def lookup(context, settings, keys):
    """The members' live state in the audience."""
    return lookup_members(with_defaults(settings), keys)


@hookimpl
def verify(context, settings, contacts):
    """Compare sampled contacts with their live members."""
    return verify_contacts(with_defaults(settings), contacts)


@hookimpl
def leavers(context, settings, since):
    """The synced people who left in Mailchimp since then, as the syncs recorded them (no call to Mailchimp)."""
    return leavers_list.since(ledger.Ledger(context.db, context.business, settings["audience_id"]), since)


def _checks(settings):
    mc = connect(settings, interactive=True)
    try:
        return run_checks(mc, settings)
    except ApiError as exc:
        raise exc.to_host_error() from None
    finally:
        mc.close()
