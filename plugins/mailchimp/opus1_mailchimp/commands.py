"""The plugin's own commands: ``opus1-int mailchimp sandbox``, ``demo`` and ``leavers``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from opus1_integrations.api import run_command

mailchimp_app = typer.Typer(help="Mailchimp tools: a local sandbox, the end-to-end demo, and who left in Mailchimp.",
                            no_args_is_help=True)


@mailchimp_app.command("sandbox")
def sandbox_command(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 8465,
    api_key: Annotated[Optional[str], typer.Option("--api-key", help="The key the sandbox accepts.")] = None,
    audience_id: Annotated[Optional[str], typer.Option("--audience-id", help="The audience it serves.")] = None,
    username: Annotated[Optional[str], typer.Option("--username", help="The account's username.")] = None,
    latency_ms: Annotated[float, typer.Option("--latency-ms", help="Added to every request.")] = 0.0,
    per_member_ms: Annotated[
        float, typer.Option("--per-member-ms", help="Added per member of a batch subscribe and per batch operation.")
    ] = 0.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the injected faults.")] = 0,
    state: Annotated[Optional[Path], typer.Option("--state", help="Keep the sandbox's data in this file.")] = None,
) -> None:
    """Run a local Mailchimp sandbox until Ctrl-C (loopback only; nothing reaches Mailchimp)."""
    from .sandbox import serve_forever_cli

    serve_forever_cli(port=port, api_key=api_key, audience_id=audience_id, username=username,
                      latency_ms=latency_ms, per_member_ms=per_member_ms, seed=seed, state_file=state)


@mailchimp_app.command("demo")
def demo_command(
    contacts: Annotated[Path, typer.Argument(help="The opus1 accounts export to sync.")],
    business: Annotated[str, typer.Option("--business", "-b", help="The business id used for the demo.")] = "example-studio",
) -> None:
    """Run the example studio through a local sandbox: configure, validate, sync, diagnose, check."""
    from .demo import run_demo

    raise typer.Exit(run_demo(contacts, business))


@mailchimp_app.command("leavers")
def leavers_command(
    business: Annotated[str, typer.Option("--business", "-b", help="The business (studio) id.")] = "default",
    since: Annotated[str, typer.Option("--since", metavar="WHEN", help="An age (90m, 24h, 7d) or a time.")] = "7d",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV on stdout.")] = False,
) -> None:
    """Who unsubscribed, bounced or was archived in Mailchimp since WHEN: `opus1-int leavers mailchimp`."""
    argv = ["leavers", "mailchimp", "--business", business, "--since", since]
    raise typer.Exit(run_command(argv + ["--json"] * as_json + ["--csv"] * as_csv))
