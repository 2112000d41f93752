#!/usr/bin/env python3
"""The action names a deployed stack's function counts, and the service of events that name
none, from `terraform output -json` on stdin.

    stack-actions.py          DEPLOY_ACTION=… STAGE_ACTION=… ROLLBACK_ACTION=… COMMIT_ACTION=…
                              HOTFIX_ACTION=… [ALLOWED_ACTIONS=…] [DEFAULT_SERVICE=…]
    stack-actions.py KIND     the name of one kind: deploy, stage, rollback, commit or hotfix

A stack applied before it had these outputs runs its function on the defaults, and so do the
commands that use this. Anything else (no JSON: Terraform could not read the state; a value that
is not an action name) exits 1 with a message, so that nothing counts or records other names.
"""
import json
import re
import sys

KINDS = ("deploy", "stage", "rollback", "commit", "hotfix")


# crates/events/src/service.rs's SERVICE_PATTERN (a test compares the two).
SERVICE_PATTERN = "^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*|[.][A-Za-z0-9_-][A-Za-z0-9._-]*|[.][.][A-Za-z0-9._-]+)(?:/(?:[A-Za-z0-9_-][A-Za-z0-9._-]*|[.][A-Za-z0-9_-][A-Za-z0-9._-]*|[.][.][A-Za-z0-9._-]+))*$"


def is_service_name(name):
    return len(name) <= 255 and re.fullmatch(SERVICE_PATTERN, name) is not None


def fail(message):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(1)


def main(args):
    try:
        outputs = json.load(sys.stdin)
    except json.JSONDecodeError:
        fail("could not read the stack's outputs (terraform output -json failed: see above)")
    names = {}
    for kind in KINDS:
        name = outputs.get(f"{kind}_action", {}).get("value", kind)
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", name):
            fail(f"the stack's {kind}_action output is not an action name: {name!r}")
        names[kind] = name
    if args:
        if args[0] not in KINDS:
            fail(f"no kind of action {args[0]!r}: {', '.join(KINDS)}")
        print(names[args[0]])
    else:
        assignments = [f"{kind.upper()}_ACTION={name}" for kind, name in names.items()]
        # A stack from before this output: the function runs on its default list, and so do
        # the commands.
        allowed = outputs.get("allowed_actions", {}).get("value")
        if allowed is not None:
            listed = allowed.split(",") if isinstance(allowed, str) else [None]
            if not all(isinstance(n, str) and re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", n) for n in listed):
                fail(f"the stack's allowed_actions output is not a list of action names: {allowed!r}")
            assignments.append(f"ALLOWED_ACTIONS={allowed}")
        service = outputs.get("default_service", {}).get("value")
        if service is not None:
            if not isinstance(service, str) or not is_service_name(service):
                fail(f"the stack's default_service output is not a service name: {service!r}")
            assignments.append(f"DEFAULT_SERVICE={service}")
        print(" ".join(assignments))


if __name__ == "__main__":
    main(sys.argv[1:])
