"""The deploy path, offline: the Makefile's deploy targets run in a copy of the project against
stand-ins for terraform and aws (bin/), and smoke.sh against a stand-in API Gateway stage."""
import json
import os
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STAND_INS = Path(__file__).resolve().parent / "bin"
COMMIT_FILES = ["Makefile", "Cargo.toml", ".env.example", ".gitignore"]
COMMIT_DIRS = ["scripts", "infra"]


class Project:
    """A committed copy of the project's deploy files, and a way to run make in it."""

    def __init__(self, path: Path):
        self.path = path
        self.log = path / "calls.jsonl"

    def make(self, *targets, env=None, stdin=subprocess.DEVNULL, timeout=60, input_text=None):
        self.log.write_text("")
        full_env = {
            "PATH": f"{STAND_INS}:{os.environ['PATH']}",
            "HOME": str(self.path),
            "FAKE_LOG": str(self.log),
            "AWS_REGION": "eu-west-1",
            "TF_STATE_BUCKET": "example-state",
            "SKIP_PACKAGE": "1",
            "SMOKE_RETRY_PAUSE_SECONDS": "0.1",
            "SMOKE_WAIT_SECONDS": "20",
        }
        full_env.update(env or {})
        return subprocess.run(
            ["make", "--no-print-directory", *targets],
            cwd=self.path, env=full_env, input=input_text,
            **({} if input_text is not None else {"stdin": stdin}), capture_output=True, text=True,
            timeout=timeout,
        )

    def calls(self, tool):
        lines = self.log.read_text().splitlines()
        return [c for c in map(json.loads, lines) if c["tool"] == tool]

    def commit_sha(self):
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=self.path, capture_output=True,
                              text=True, check=True).stdout.strip()


@pytest.fixture
def project(tmp_path):
    for name in COMMIT_FILES:
        shutil.copy(ROOT / name, tmp_path / name)
    for name in COMMIT_DIRS:
        shutil.copytree(ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    package = tmp_path / "target/lambda/arm64/pipeline-events-api/bootstrap.zip"
    package.parent.mkdir(parents=True)
    package.write_bytes(b"stand-in package")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(git + ["init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(git + ["add", "-A"], cwd=tmp_path, check=True)
    subprocess.run(git + ["commit", "-q", "-m", "copy"], cwd=tmp_path, check=True)
    return Project(tmp_path)


class Stage:
    """An API Gateway stage as the smoke test sees it: /dev/..., x-api-key on every route but
    /health, and a new key refused with 403 for its first `refuse_first` requests."""

    def __init__(self, sha, refuse_first=0, key="key", post_status=201):
        self.sha, self.refuse_first, self.key, self.requests = sha, refuse_first, key, 0
        self.post_status, self.posts = post_status, []
        self.webhook_answer = (404, {"error": {"code": "webhook_not_configured"}})
        self.webhook_calls = []
        stage = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("content-length", "0"))
                if self.path.startswith("/dev/webhooks/"):
                    # Keyless: the function refuses an unsigned delivery itself.
                    self.rfile.read(length)
                    stage.webhook_calls.append(dict(self.headers))
                    status, answer = stage.webhook_answer
                    payload = json.dumps(answer).encode()
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                body = json.loads(self.rfile.read(length) or b"null")
                stage.posts.append({"path": self.path, "headers": dict(self.headers), "body": body})
                signed = self.headers.get("authorization", "").startswith(
                    "AWS4-HMAC-SHA256 Credential=") and "/execute-api/aws4_request" in \
                    self.headers.get("authorization", "")
                if not signed:
                    status, answer = 403, {"message": "Missing Authentication Token"}
                elif stage.post_status != 201:
                    status, answer = stage.post_status, {"error": {"code": "internal_error"}}
                else:
                    status, answer = 201, {"id": 77, **body, "timestamp": "2026-01-01T00:00:00Z"}
                    stage.recorded = answer
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self):
                stage.requests += 1
                status, body = stage.answer(self.path, self.headers.get("x-api-key"))
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/dev"

    def answer(self, path, key):
        path = path.removeprefix("/dev")
        if path in ("/health", "/dashboard"):
            return 200, {"status": "pass"}
        if key != self.key:
            return 403, {"message": "Forbidden"}
        if self.refuse_first > 0:
            self.refuse_first -= 1
            return 403, {"message": "Forbidden"}
        if path == "/events?limit=0":
            return 400, {"error": {"code": "invalid_parameter"}}
        if path == "/engineers/smoke~nobody/events":
            return 404, {"error": {"code": "engineer_not_found"}}
        if path == "/docs":
            return 404, {"error": {"code": "docs_not_served"}}
        if path == "/metadata":
            return 200, {"myapplication": [{"version": "0.1.0", "lastcommitsha": self.sha}]}
        if path == "/events/77" and getattr(self, "recorded", None):
            return 200, self.recorded
        return 200, {}


@pytest.fixture
def stage_factory():
    stages = []

    def start(**kwargs):
        stage = Stage(**kwargs)
        stages.append(stage)
        return stage

    yield start
    for stage in stages:
        stage.server.shutdown()
