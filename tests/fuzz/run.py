"""`make fuzz`: Schemathesis against the local server, on the committed description.

    run.py [--store memory|dynamodb]

Starts the server (the debug build, `INGEST_TOKEN` set) on a free port of 127.0.0.1, runs every
phase and check with a fixed seed within a time budget, stops the server, and exits with
Schemathesis' status. The store is the memory store with the built-in dataset, or, with
`--store dynamodb`, a table on moto (`tests/api/support/moto_server.py`, which holds requests to
DynamoDB's documented limits: key sizes on reads too, 400 KB items, batch and transaction sizes),
made and filled with the built-in dataset by the binary's own `create-table` and `import`.

The description is the deployed API's. The local server has no API Gateway in front of it, so
two of its promises belong to API Gateway and are taken out of the copy this run uses: the
stage's API key on reads and SigV4 on `POST /events`. The local server's own guard stays: a
bearer `INGEST_TOKEN` on `POST /events`, which `ignored_auth` checks by sending requests
without it and with a wrong one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "target" / "debug" / "pipeline-events-api"
SCHEMATHESIS = ROOT / ".venv-fuzz" / "bin" / "st"
# moto is in the checks' venv, not Schemathesis' (their pins conflict).
MOTO_PYTHON = ROOT / ".venv" / "bin" / "python"
MOTO_SERVER = ROOT / "tests" / "api" / "support" / "moto_server.py"
SAMPLE = ROOT / "data" / "events.jsonl"
TOKEN = "fuzz-ingest-token-0123456789"
# The webhook's secret: the hooks sign each delivery with it (before_call).
WEBHOOK_SECRET = "fuzz-webhook-secret-0123456789"
GITLAB_TOKEN = "fuzz-gitlab-token-0123456789"
SEED = "1212"
MAX_SECONDS = os.environ.get("FUZZ_MAX_SECONDS", "100")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def local_description(path: Path) -> None:
    doc = json.loads((ROOT / "docs" / "openapi.json").read_text())
    doc.pop("security", None)
    schemes = doc["components"]["securitySchemes"]
    schemes.pop("api_key")
    schemes.pop("sigv4")
    doc["paths"]["/events"]["post"]["security"] = [{"ingest_token": []}]
    path.write_text(json.dumps(doc))


def wait_until(ready, process: subprocess.Popen, what: str) -> None:
    """Waits up to 30 s for `ready()` to be true, failing at once if `process` exits."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{what} exited with {process.returncode} before answering")
        try:
            if ready():
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"{what} did not answer within 30 s")


def answers(url: str) -> bool:
    with urllib.request.urlopen(url + "/health", timeout=1):
        return True


def listens(port: int) -> bool:
    socket.create_connection(("127.0.0.1", port), timeout=1).close()
    return True


def dynamodb_table(env: dict) -> subprocess.Popen:
    """moto on a free port, and the events table on it, made and filled by the binary; `env`
    gains what points the server at it."""
    port = free_port()
    aws = {
        "AWS_ACCESS_KEY_ID": "fuzz",
        "AWS_SECRET_ACCESS_KEY": "fuzz",
        "AWS_REGION": "eu-west-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    moto = subprocess.Popen(
        [str(MOTO_PYTHON), str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
        env={"PATH": os.environ.get("PATH", ""), **aws},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(lambda: listens(port), moto, "moto")
    env.update(aws)
    env.update({
        "EVENT_STORE": "dynamodb",
        "EVENTS_TABLE": "fuzz-events",
        "AWS_ENDPOINT_URL_DYNAMODB": f"http://127.0.0.1:{port}",
    })
    for command in (["create-table"], ["import", str(SAMPLE)]):
        subprocess.run([str(SERVER), *command], env=env, check=True, stdout=subprocess.DEVNULL)
    return moto


def main() -> int:
    store = sys.argv[2] if sys.argv[1:2] == ["--store"] and len(sys.argv) == 3 else "memory"
    if store not in ("memory", "dynamodb") or len(sys.argv) not in (1, 3):
        sys.exit("usage: run.py [--store memory|dynamodb]")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "BIND_ADDR": f"127.0.0.1:{port}",
        "INGEST_TOKEN": TOKEN,
        "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "GITLAB_WEBHOOK_TOKEN": GITLAB_TOKEN,
        "LOG_LEVEL": "warn",
    }
    moto = dynamodb_table(env) if store == "dynamodb" else None
    print(f"fuzzing the {store} store", flush=True)
    try:
        return fuzz(url, env)
    finally:
        if moto is not None:
            moto.terminate()
            moto.wait(timeout=10)


def fuzz(url: str, env: dict) -> int:
    with tempfile.TemporaryDirectory(prefix="fuzz-") as work:
        description = Path(work) / "openapi.json"
        local_description(description)
        server = subprocess.Popen([str(SERVER)], env=env, stdout=subprocess.DEVNULL)
        try:
            wait_until(lambda: answers(url), server, "the server")
            command = [
                str(SCHEMATHESIS), "run", str(description),
                "--url", url,
                "--header", f"Authorization: Bearer {TOKEN}",
                "--checks", "all",
                "--exclude-checks", "positive_data_acceptance",
                "--mode", "all",
                "--phases", "examples,coverage,fuzzing,stateful",
                "--seed", SEED,
                "--max-time", MAX_SECONDS,
                "--generation-database", "none",
                "--no-color",
            ]
            run_env = dict(
                os.environ,
                SCHEMATHESIS_HOOKS="hooks",
                PYTHONPATH=str(Path(__file__).parent),
                FUZZ_WEBHOOK_SECRET=WEBHOOK_SECRET,
                FUZZ_GITLAB_TOKEN=GITLAB_TOKEN,
            )
            result = subprocess.run(command, env=run_env, cwd=work)
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        if server.returncode not in (0, -signal.SIGTERM):
            print(f"the server exited with {server.returncode}", file=sys.stderr)
            return 1
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
