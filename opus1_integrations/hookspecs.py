"""Hook specifications: what an integration plugin can implement (docs/hooks.md documents each one).

Every hook except ``register_commands`` is called for the one integration named on the command line (never
broadcast), so a broken plugin cannot break the others. The host calls them through ``integration.Integration``.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("opus1_integrations")
hookimpl = pluggy.HookimplMarker("opus1_integrations")


@hookspec
def register_commands(cli):
    """Add commands to the ``opus1-int`` CLI.

    Called for every loaded plugin while the CLI is built.
    :param cli: the root ``typer.Typer`` app; add a sub-app named after the integration.
    :return: nothing.
    :raises: nothing; an exception marks the plugin as broken.
    """


@hookspec(firstresult=True)
def settings_schema():
    """Describe the integration's settings.

    :return: a JSON Schema (Draft 2020-12) object; ``"writeOnly": true`` marks a secret; top-level ``default``
        values are applied before any hook sees the settings, which the host validates against the schema first.
    :raises: nothing.
    """


@hookspec(firstresult=True)
def migrations():
    """Give the integration's own database migrations.

    :return: a ``sqlite_utils.Migrations`` set named after the plugin, applied by the host
        before the plugin's other hooks run, or ``None`` when the plugin keeps no state.
    :raises: nothing.
    """


@hookspec(firstresult=True)
def configure(context, settings):
    """Check new settings against the live service before the host saves them.

    :param context: the ``opus1_integrations.api.Context`` of this business and integration.
    :param settings: the settings, already valid against ``settings_schema``, secrets resolved, defaults applied.
    :return: the settings to save (the same dict, or a normalised copy).
    :raises SettingsInvalid: the service rejected them (nothing is saved).
    :raises OperationFailed: the service could not be reached.
    """


@hookspec(firstresult=True)
def validate(context, settings):
    """Run the live checks of saved settings.

    :param context: the ``Context`` of this business and integration.
    :param settings: the saved settings, valid against ``settings_schema``, secrets resolved, defaults applied.
    :return: a list of ``opus1_integrations.api.Check``, each failing one with a hint.
    :raises OperationFailed: the service could not be reached at all.
    """


@hookspec(firstresult=True)
def sync(context, settings, audience, run, options):
    """Bring the service in line with the business's contacts.

    :param context: the ``Context`` of this business and integration.
    :param settings: the saved settings, secrets resolved.
    :param audience: the ``opus1_integrations.api.Audience`` built by the host's rules, read on first use: call
        ``audience.load()`` before sending anything (a malformed export raises ``ExportRejected`` there); its
        ``fingerprint`` (the export's SHA-256) is known without reading it.
    :param run: the ``opus1_integrations.api.Run`` to record each item's ``ItemOutcome`` in (a ``failed`` one
        with a message); a run with failed items ends ``partial``.
    :param options: ``opus1_integrations.api.SyncOptions`` (dry run, plan file, force).
    :return: a dict of counts for the run summary (created, updated, unchanged, failed, ...).
    :raises SettingsInvalid: credentials were rejected.
    :raises OperationFailed: the run could not finish; items already recorded are kept. The next sync must bring
        the service in line from whatever a failed or interrupted run left (the host tells people to run again).
    """


@hookspec(firstresult=True)
def diagnose(context, settings):
    """Find integration-specific problems (the host adds settings, run and data problems).

    :param context: the ``Context`` of this business and integration.
    :param settings: the saved settings, secrets resolved.
    :return: a list of ``opus1_integrations.api.Finding``.
    :raises: nothing; report an unreachable service as a finding.
    """


@hookspec(firstresult=True)
def lookup(context, settings, keys):
    """Fetch the live state of contacts in the service, for ``check``.

    :param context: the ``Context`` of this business and integration.
    :param settings: the saved settings, secrets resolved.
    :param keys: normalised (trimmed, lower-cased) email addresses.
    :return: a dict mapping each key to a dict of plain facts (``status`` first), or ``None`` when absent.
    :raises OperationFailed: the service could not be reached.
    Optional: without it, ``check`` says the integration cannot look contacts up (exit 2).
    """


@hookspec(firstresult=True)
def verify(context, settings, contacts):
    """Compare contacts with their live records, for ``verify``.

    :param context: the ``Context`` of this business and integration.
    :param settings: the saved settings, secrets resolved.
    :param contacts: a sample of ``Contact`` objects the last runs synced.
    :return: a list of dicts ``{"key", "ok", "problems": [str]}``, one per contact.
    :raises OperationFailed: the service could not be reached.
    Optional: without it, ``verify`` says the integration cannot compare contacts (exit 2).
    """


@hookspec(firstresult=True)
def leavers(context, settings, since):
    """List the synced people who left in the service since a time (unsubscribed, bounced, archived), for ``leavers``.

    :param context: the ``Context`` of this business and integration.
    :param settings: the saved settings, secrets resolved.
    :param since: an aware ``datetime`` in UTC: people who left at or after it.
    :return: a list of dicts, one per person, newest first: ``person_id``, ``account_ids`` (a list), ``email``,
        ``status`` (the service's word for how they left), ``reason`` (the service's, or ``None``) and ``left_at``
        (ISO 8601 text in UTC).
    :raises OperationFailed: what the integration keeps could not be read.
    Optional: without it, ``leavers`` says the integration cannot list people who left (exit 2).
    """
