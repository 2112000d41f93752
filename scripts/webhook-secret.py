#!/usr/bin/env python3
"""`make webhook-secret`: set a code host's webhook secret in the deployed stack's SSM.

Reads the secret from the terminal without echoing it, or the first line of a pipe (empty: a
new random one, shown once to paste into the host's settings), and writes it as a SecureString through the AWS CLI,
which gets the request on its standard input (`--cli-input-json file:///dev/stdin`): never on a
command line, where any user of the machine can read it. With ROTATE=1 the current secret first
becomes `<host>-…-previous`, still accepted, until the host has the new one (run `make
webhook-secret … RETIRE=1` then, which deletes the previous one).
Usage: webhook-secret.py PREFIX HOST [rotate|retire]
"""
import getpass
import json
import os
import secrets
import subprocess
import sys

PARAMETERS = {"github": "github-secret", "gitlab": "gitlab-token"}
MIN_CHARS = 16


def aws(*args, request=None):
    """Runs the AWS CLI, `request` as its JSON input on stdin; its output, or None if it failed."""
    # The CLI the caller's PATH names (make passes it): a Python launcher such as pyenv's puts
    # its own directories first on the PATH this script sees.
    command = [os.environ.get("AWS_CLI") or "aws", *args]
    if request is not None:
        command += ["--cli-input-json", "file:///dev/stdin"]
    result = subprocess.run(command, input=json.dumps(request) if request else None,
                            capture_output=True, text=True)
    if result.returncode != 0:
        return None, result.stderr.strip()
    return result.stdout, None


def put(name, value):
    _, error = aws("ssm", "put-parameter", request={
        "Name": name, "Value": value, "Type": "SecureString", "Overwrite": True,
        "Description": "Webhook secret, written by make webhook-secret",
    })
    if error:
        sys.exit(f"error: cannot write {name}: {error}")


def current(name):
    """The parameter's value; None if it does not exist. Any other failure stops here."""
    output, error = aws("ssm", "get-parameter", request={"Name": name, "WithDecryption": True})
    if error and "ParameterNotFound" not in error:
        sys.exit(f"error: cannot read {name}: {error}")
    return json.loads(output)["Parameter"]["Value"] if output else None


def main():
    if len(sys.argv) not in (3, 4) or sys.argv[2] not in PARAMETERS:
        sys.exit("usage: make webhook-secret ENV=<env> HOST=github|gitlab [ROTATE=1|RETIRE=1]")
    prefix, host = sys.argv[1], sys.argv[2]
    mode = sys.argv[3] if len(sys.argv) == 4 else "set"
    name = f"{prefix}/{PARAMETERS[host]}"
    previous = f"{name}-previous"
    if mode == "retire":
        _, error = aws("ssm", "delete-parameter", request={"Name": previous})
        if error and "ParameterNotFound" not in error:
            sys.exit(f"error: cannot delete {previous}: {error}")
        print(f"{previous} deleted: only the current secret is accepted (within 5 minutes).")
        return
    prompt = f"{host} webhook secret for {name} (Enter: generate one): "
    # From a pipe (a password manager's output), the first line; else the terminal, unechoed.
    typed = getpass.getpass(prompt) if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")
    value = typed or secrets.token_hex(32)
    if len(value) < MIN_CHARS:
        sys.exit(f"error: a webhook secret has at least {MIN_CHARS} characters")
    if mode == "rotate":
        old = current(name)
        if old is None:
            sys.exit(f"error: {name} has no secret to rotate; run without ROTATE=1")
        put(previous, old)
    put(name, value)
    if not typed:
        # The terminal, not a log: the host's settings page needs it once.
        print(f"New secret (paste it into {host}'s webhook settings; it is not shown again):\n{value}")
    print(f"{name} set; the function takes it within 5 minutes."
          + (f" {previous} is still accepted. Wait 5 minutes (every instance then has the new"
             f" secret), change it on {host}, then run with RETIRE=1."
             if mode == "rotate" else ""))


if __name__ == "__main__":
    main()
