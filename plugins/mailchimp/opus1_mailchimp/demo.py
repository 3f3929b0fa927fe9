"""The end-to-end demo: the example studio through a local Mailchimp sandbox, as a studio owner would run it, in
lines that fit 80 columns: configure, validate, sync twice (the second sends nothing), a client who refused email
news (not added), and a client who unsubscribes in Mailchimp (left alone, and listed by ``leavers``)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from pathlib import Path
from shlex import quote

from rich.console import Console

from opus1_integrations.api import load_audience, run_command

from .sandbox import Sandbox

HOME_ENV = "OPUS1_INT_HOME"
KEY_ENV = "OPUS1_DEMO_MAILCHIMP_KEY"
USERNAME = "studio_owner"
WIDTH = 80
REASON = "I no longer want to receive these emails"
#: The people the rules merge into another's contact are synced, as that contact.
MERGED = ("shared_email", "duplicate_person")


def run_demo(contacts: Path, business: str) -> int:
    """Configure, validate, sync twice, check a client who refused, then unsubscribe a client in the sandbox, sync
    and list the leavers; print a summary. Returns the exit code."""
    console = Console(highlight=False, width=WIDTH)  # the narration wraps at 80 columns, between words
    contacts = contacts.resolve()
    with load_audience(contacts) as audience:
        clients = [c for c in audience.contacts() if c.email_consent != "denied"]
        refused = next((c for c in audience.contacts() if c.email_consent == "denied"), None)
        not_synced = sum(n for reason, n in audience.counts["skipped"].items() if reason not in MERGED)
    unsubscribed, cleaned, leaver = clients[:3] if len(clients) >= 3 else (None, None, None)
    saved_env = {k: os.environ.get(k) for k in (HOME_ENV, KEY_ENV)}
    with tempfile.TemporaryDirectory(prefix="opus1-demo-") as home, Sandbox(username=USERNAME) as sandbox:
        os.environ[HOME_ENV] = home
        os.environ[KEY_ENV] = sandbox.api_key
        try:
            if unsubscribed is not None:
                sandbox.seed_member(unsubscribed.email, status="unsubscribed", unsubscribed_by="contact")
                sandbox.seed_member(cleaned.email, status="cleaned")
            sandbox.seed_member("lena.fischer@posteo.de", status="subscribed", tags=("newsletter",))
            console.rule("[bold]opus1 × Mailchimp demo[/]")
            console.print(f"The example studio, synced to a local Mailchimp sandbox at {sandbox.base_url}. Its "
                          f"audience {sandbox.audience_id} already holds one client who unsubscribed, one whose "
                          "address bounced, and a subscriber who is not in opus1.")
            b = ["--business", business]
            steps: list[tuple[str | None, list[str]]] = [
                (None, ["configure", "mailchimp", *b, "--user-id", USERNAME, "--api-key-env", KEY_ENV,
                        "--audience-id", sandbox.audience_id, "--api-url", sandbox.base_url,
                        "--contacts", str(contacts)]),
                (None, ["validate", "mailchimp", *b]),
                (None, ["sync", "mailchimp", *b]),
                ("Again, with nothing changed: it sends nothing.", ["sync", "mailchimp", *b]),
            ]
            if refused is not None:
                steps.append((f"{refused.first_name} {refused.last_name} refused email news in opus1: not added.",
                              ["check", "mailchimp", refused.email, *b]))
            for note, argv in steps:
                if (code := _step(console, note, argv)) != 0:
                    return code
            if leaver is not None:
                sandbox.seed_member(leaver.email, status="unsubscribed", unsubscribed_by="contact",
                                    unsubscribe_reason=REASON)
                name = f"{leaver.first_name} {leaver.last_name}"
                for note, argv in ((f"{name} unsubscribes in Mailchimp; the next sync leaves them alone ...",
                                    ["sync", "mailchimp", *b]),
                                   ("... and tells opus1 who left:", ["mailchimp", "leavers", *b])):
                    if (code := _step(console, note, argv)) != 0:
                        return code
            _summary(console, business, not_synced)
        finally:
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    return 0


def _step(console: Console, note: str | None, argv: list[str]) -> int:
    """Say what comes (``note``), show the command as typed, run it; its exit code."""
    console.print()
    if note:
        console.print(note)
    console.print(shell_lines(["opus1-int", *argv]), style="bold cyan", markup=False, soft_wrap=True)
    code = run_command(argv)
    if code:
        console.print(f"[red]the demo stopped: that command exited {code}[/]")
    return code


def shell_lines(argv: list[str], width: int = WIDTH) -> str:
    """``$ command`` as lines of at most ``width`` columns where it can, broken between arguments with `` \\``
    (an option stays with its value), as it could be pasted into a shell."""
    words, i = [], 0
    while i < len(argv):
        word = quote(argv[i])
        if argv[i].startswith("--") and i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            word, i = f"{word} {quote(argv[i + 1])}", i + 1
        words.append(word)
        i += 1
    lines, line = [], "$"
    for word in words:
        if len(line) + 1 + len(word) + 2 > width and line not in ("$", "   "):
            lines.append(line + " \\")
            line = "   "
        line += " " + word
    return "\n".join(lines + [line])


def _summary(console: Console, business: str, not_synced: int) -> None:
    listing = io.StringIO()
    with contextlib.redirect_stdout(listing):
        run_command(["runs", "--business", business, "--integration", "mailchimp", "--limit", "3", "--json"])
    first, second = list(reversed(json.loads(listing.getvalue())))[:2]
    c, again = first["counts"], second["counts"]
    console.print()
    console.rule("[bold]Summary[/]")
    console.print(
        f"First sync: {c['created']} clients added to Mailchimp; {c['left_alone']} left alone because they had "
        f"unsubscribed or bounced; {c['skipped']} not added because they refused email news; {not_synced} people "
        f"not synced by opus1's rules (children, missing or invalid emails, closed accounts); {c['failed']} refused "
        f"by Mailchimp; {c['requests']} requests.")
    console.print(f"Second sync with nothing changed: {again['unchanged']} unchanged, {again['writes']} writes, "
                  f"{again['requests']} requests.")
    console.print("The sandbox and the demo's state were temporary. To try your own export, start `opus1-int "
                  "mailchimp sandbox` and configure a business with the --api-url it prints; `opus1-int diagnose "
                  "mailchimp` then lists what to fix in opus1.")
