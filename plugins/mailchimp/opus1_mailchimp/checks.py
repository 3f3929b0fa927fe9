"""The live checks of a Mailchimp connection: key, username, audience and merge fields, each with a fix."""

from __future__ import annotations

from opus1_integrations.api import Check, OperationFailed, SettingsInvalid

from .client import ApiError, Mailchimp

REQUIRED_MERGE_FIELDS = ("FNAME", "LNAME")
CONNECTION = "connection"
ROOT_SHAPE = {"username?": str, "email?": str}
AUDIENCE_SHAPE = {"name?": str, "stats?": {"member_count?": int}}
MERGE_FIELDS_SHAPE = {"merge_fields?": [{"tag": str}]}


def run_checks(mc: Mailchimp, settings: dict) -> list[Check]:
    """Check the key (ping), that it belongs to the User ID, that the audience exists and has FNAME/LNAME.

    Only Mailchimp's own verdict on the key fails the key check; when Mailchimp is unavailable or answers
    something unusable, the ``connection`` check fails instead (there is nothing to change in the settings)."""
    checks = []
    try:
        mc.call(mc.ping.get, shape={})
    except ApiError as exc:
        if exc.rejects_key:
            return [Check("api key", False, f"Mailchimp rejected the API key ({exc})",
                          "create or copy a key in Mailchimp (Account > Extras > API keys) and run "
                          "`opus1-int configure mailchimp --api-key ...`")]
        error = exc.to_host_error()
        return [Check(CONNECTION, False, error.message, error.hint)]
    checks.append(Check("api key", True, "accepted by Mailchimp"))
    root = mc.call(mc.root.get_root, fields=["username", "email", "account_name"], shape=ROOT_SHAPE)
    user_id = settings["user_id"].strip().lower()
    names = {str(root.get("username", "")).lower(), str(root.get("email", "")).lower()}
    if user_id in names:
        checks.append(Check("user id", True, f"the key belongs to {root.get('username')}"))
    else:
        checks.append(Check("user id", False,
                            f"the key belongs to Mailchimp user {root.get('username')!r}, not {settings['user_id']!r}",
                            "use a key of the User ID's own account, or correct --user-id"))
    try:
        audience = mc.call(mc.lists.get_list, settings["audience_id"], fields=["id", "name", "stats.member_count"],
                           shape=AUDIENCE_SHAPE)
    except ApiError as exc:
        if exc.status != 404:
            raise
        checks.append(Check("audience", False, f"audience {settings['audience_id']!r} was not found in this account",
                            "copy the Audience ID from Audience > Settings > Audience name and defaults"))
        return checks
    members = (audience.get("stats") or {}).get("member_count") or 0
    checks.append(Check("audience", True, f"{audience.get('name')} ({members} subscribed "
                                           f"member{'' if members == 1 else 's'})"))
    tags = merge_tags(mc, settings["audience_id"])
    missing = [t for t in REQUIRED_MERGE_FIELDS if t not in tags]
    if missing:
        checks.append(Check("merge fields", False, f"the audience has no {', '.join(missing)} field",
                            "add them in Mailchimp: Audience > Settings > Audience fields and *|MERGE|* tags"))
    else:
        extra = " and PHONE" if "PHONE" in tags else " (no PHONE field: phone numbers are not synced)"
        checks.append(Check("merge fields", True, "FNAME, LNAME" + extra))
    return checks


def merge_tags(mc: Mailchimp, audience_id: str) -> frozenset[str]:
    """The merge tags the audience has."""
    answer = mc.call(mc.lists.get_list_merge_fields, audience_id, count=100, fields=["merge_fields.tag"],
                     shape=MERGE_FIELDS_SHAPE)
    return frozenset(f["tag"] for f in answer.get("merge_fields") or [])


#: The setting each live check is about, so a form can show a failure beside its field.
CHECKED_SETTING = {"api key": "api_key", "user id": "user_id", "audience": "audience_id",
                   "merge fields": "audience_id"}


def refusal(checks: list[Check]) -> Exception | None:
    """Why settings whose live checks failed are not saved: Mailchimp being unavailable is no settings problem
    (exit 1, the same settings work later); any other failing check is (exit 3). ``None`` when all passed."""
    failing = [c for c in checks if not c.ok]
    if not failing:
        return None
    message = "; ".join(f"{c.name}: {c.message}" for c in failing)
    if any(c.name == CONNECTION for c in failing):
        return OperationFailed(message, hint=failing[0].hint)
    return SettingsInvalid(message, hint=failing[0].hint, fields={  # each failure beside its field, with its fix
        CHECKED_SETTING[c.name]: f"{c.message}. To fix it: {c.hint}" for c in reversed(failing)
        if c.name in CHECKED_SETTING})
