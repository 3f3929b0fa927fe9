"""The end-to-end demo: the example studio through a local Mailchimp sandbox, as a studio owner would run it."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import tempfile
from itertools import islice
from pathlib import Path

from rich.console import Console

from opus1_integrations.api import load_audience, run_command

from .sandbox import Sandbox

HOME_ENV = "OPUS1_INT_HOME"
KEY_ENV = "OPUS1_DEMO_MAILCHIMP_KEY"
USERNAME = "studio_owner"


def run_demo(contacts: Path, business: str) -> int:
    """Configure, validate, sync (twice), diagnose and check against a fresh sandbox; print a summary. Returns the exit code."""
    console = Console(highlight=False, soft_wrap=True)  # the demo's narration goes with the commands' results
    contacts = contacts.resolve()
    with load_audience(contacts) as audience:
        sample = list(islice(audience.contacts(), 2))
        child = next((d for d in audience.decisions() if d.reason == "child"), None)
    saved_env = {k: os.environ.get(k) for k in (HOME_ENV, KEY_ENV)}
    with tempfile.TemporaryDirectory(prefix="opus1-demo-") as home, Sandbox(username=USERNAME) as sandbox:
        os.environ[HOME_ENV] = home
        os.environ[KEY_ENV] = sandbox.api_key
        try:
            for contact, status in zip(sample, ("unsubscribed", "cleaned")):
                sandbox.seed_member(contact.email, status=status, unsubscribed_by="contact")
            sandbox.seed_member("lena.fischer@posteo.de", status="subscribed", tags=("newsletter",))
            console.rule("[bold]opus1 × Mailchimp demo[/]: the example studio, synced to a local Mailchimp sandbox")
            console.print(f"Sandbox at {sandbox.base_url}: audience {sandbox.audience_id}; it already holds one "
                          f"unsubscribed and one cleaned client and a subscriber who is not in opus1.")
            steps = [
                ["configure", "mailchimp", "--business", business, "--user-id", USERNAME, "--api-key-env", KEY_ENV,
                 "--audience-id", sandbox.audience_id, "--api-url", sandbox.base_url, "--contacts", str(contacts)],
                ["validate", "mailchimp", "--business", business],
                ["sync", "mailchimp", "--business", business],
                ["sync", "mailchimp", "--business", business],
                ["diagnose", "mailchimp", "--business", business],
            ]
            if child is not None:
                steps.append(["check", "mailchimp", child.person_id, "--business", business])
            if sample:
                steps.append(["check", "mailchimp", sample[0].email, "--business", business])
            for argv in steps:
                console.print(f"\n[bold cyan]$ opus1-int {shlex.join(argv)}[/]")
                code = run_command(argv)
                if code not in (0, 1) or (code == 1 and argv[0] != "diagnose"):
                    console.print(f"[red]the demo stopped: that command exited {code}[/]")
                    return code
            _summary(console, business)
        finally:
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    return 0


def _summary(console, business: str) -> None:
    listing = io.StringIO()
    with contextlib.redirect_stdout(listing):
        run_command(["runs", "--business", business, "--integration", "mailchimp", "--limit", "2", "--json"])
    first, second = reversed(json.loads(listing.getvalue()))
    c = first["counts"]
    console.rule("[bold]Summary[/]")
    console.print(
        f"First sync: {c['created']} clients added to Mailchimp, {c['left_alone']} left alone because they "
        f"unsubscribed or bounced, {c['skipped']} people not synced by opus1's rules (children, missing or invalid "
        f"emails, closed accounts), {c['failed']} refused by Mailchimp; {c['requests']} requests."
    )
    again = second["counts"]
    console.print(
        f"Second sync with nothing changed: {again['unchanged']} unchanged, {again['writes']} writes, "
        f"{again['requests']} requests."
    )
    console.print("The sandbox and the demo's state were temporary. To try your own export, start "
                  "`opus1-int mailchimp sandbox` and configure a business with the --api-url it prints.")
