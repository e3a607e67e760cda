"""``takeback provision plan|apply -c org.yaml``: org.yaml onto a real org, or onto the emulator (``--api``).

Exit codes (DESIGN.md §3): 0 done (``plan``: whether or not something would change), 1 the Platform API
refused or could not be reached, or the plan has an error (a missing site, a classification held by
another route …), 2 usage or configuration (org.yaml invalid, no credentials, unknown region). Errors are
one line each on stderr, never a traceback; secrets are never printed (see
:mod:`takeback.provision.render`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from takeback.cloud import Org
    from takeback.provision import Credentials, Redactor

_EXAMPLES = """examples:
  takeback provision plan -c org.yaml                   # the org.yaml region, credentials from env
  takeback provision apply -c org.yaml --region eu-west-1
  takeback provision apply -c org.yaml --api http://127.0.0.1:8070   # the emulator (takeback cloud)

credentials: GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET (an OAuth client-credentials client with
Telephony > Plugin > All). With --api and neither set, the emulator's takeback/takeback is used.
"""
_WHAT = """what is provisioned (article steps 4-6):
  * BYOC trunks other than the PSTN trunk: created from the BYOC template, or updated;
  * each site's org.yaml number plans: at the top of the site's list, the other plans kept below in order;
  * the outbound routes that use those trunks (a classification held by another route is an error,
    unless --take-classifications);
  * checked, never written: the PSTN trunk's Release Link Transfer, and lint of org.yaml.
Sites are looked up by name; takeback does not create them.
"""


def register(commands: Any) -> None:
    group = commands.add_parser(
        "provision",
        help="apply org.yaml to a Genesys Cloud org (or the emulator) with the official SDK",
        description=_WHAT,
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = group.add_subparsers(dest="provision_command", metavar="ACTION")
    actions.required = True
    for name, text in (
        ("plan", "show what apply would change (reads only)"),
        ("apply", "make the org match org.yaml (idempotent)"),
    ):
        action = actions.add_parser(
            name,
            help=text,
            description=_WHAT,
            epilog=_EXAMPLES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        action.add_argument("-c", "--config", metavar="org.yaml", required=True, help="the org file")
        target = action.add_mutually_exclusive_group()
        target.add_argument(
            "--api", metavar="URL", help="Platform API base URL (the emulator: http://HOST:PORT)"
        )
        target.add_argument(
            "--region", metavar="REGION", help="AWS region of the org (default: org.yaml region)"
        )
        action.add_argument(
            "--take-classifications",
            action="store_true",
            help="move classifications held by other outbound routes to org.yaml's routes",
        )
        action.add_argument(
            "--update-secrets",
            action="store_true",
            help="send the Digest password even when the API hides it (it cannot be compared)",
        )
        action.add_argument("--json", action="store_true", help="print JSON")
        action.set_defaults(handler=_run, apply=name == "apply")


def _fail(lines: list[str], code: int) -> int:
    for line in lines:
        print(f"takeback provision: {line}", file=sys.stderr)
    return code


def _run(args: argparse.Namespace) -> int:
    from takeback.cloud import ConfigError, lint, load_org
    from takeback.provision import ApiFailure, Credentials, ProvisionUsageError, Redactor, resolve_host
    from takeback.provision.desired import terraform_spelling_problems
    from takeback.provision.render import org_secrets

    try:
        org = load_org(args.config)
    except ConfigError as exc:
        where = f"{exc.source}: " if exc.source else ""
        return _fail([f"{where}{problem}" for problem in exc.problems], 2)
    problems = terraform_spelling_problems(org)
    if problems:
        return _fail([f"{args.config}: {problem}" for problem in problems], 2)
    redact = Redactor(org_secrets(org))
    try:
        host, explicit = resolve_host(region=args.region or org.region, api=args.api)
        credentials = Credentials.from_env(os.environ, emulator=explicit)
    except ProvisionUsageError as exc:
        return _fail([str(exc)], 2)
    redact.add(credentials.client_secret)
    findings = [f"lint {finding}" for finding in lint(org)]
    try:
        return _plan_and_apply(args, org, host, credentials, findings, redact)
    except ApiFailure as exc:
        return _fail([redact(str(exc))], 1)
    except ProvisionUsageError as exc:
        return _fail([str(exc)], 2)


def _plan_and_apply(
    args: argparse.Namespace,
    org: Org,
    host: str,
    credentials: Credentials,
    findings: list[str],
    redact: Redactor,
) -> int:
    from takeback.provision import ApplyFailed, PlanOptions, connect, execute, plan_org, render_plan, summary

    def say(line: str) -> None:
        print(redact(line), flush=True)

    client = connect(host, credentials, redact=redact)
    options = PlanOptions(take_classifications=args.take_classifications, update_secrets=args.update_secrets)
    plan = plan_org(org, client, options)
    report: dict[str, Any] = {"action": "apply" if args.apply else "plan", **plan.to_json(), "lint": findings}
    if not args.json:
        say(f"Platform API {host} - org {org.name!r} from {args.config}")
        for line in [*render_plan(plan), *findings]:
            say(line)
    if plan.errors:
        if args.json:
            say(json.dumps({**report, "ok": False}))
        return _fail([redact(f"error: {error}") for error in plan.errors] + ["nothing was changed"], 1)
    done: list[str] = []
    if args.apply and plan.has_changes:
        try:
            done = execute(plan, client, progress=None if args.json else lambda line: say(f"  {line}")).done
        except ApplyFailed as exc:
            if args.json:
                say(json.dumps({**report, "ok": False, "applied": exc.done, "error": str(exc)}))
            return _fail(
                [redact(str(exc)), f"{len(exc.done)} change(s) were made before it; run plan again"], 1
            )
    if args.json:
        say(json.dumps({**report, "ok": True, "applied": done}))
    else:
        say(summary(plan, applied=args.apply))
    return 0
