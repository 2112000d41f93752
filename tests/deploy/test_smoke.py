"""scripts/smoke.sh against a stand-in stage: it waits out what a healthy new deploy does for a
while (a new API key refused, a cached commit SHA), for a bounded time, and fails on the rest."""
import os
import subprocess
import time

from conftest import ROOT

SHA = "ab" * 20


def smoke(stage, sha=SHA, wait="20"):
    env = {**os.environ, "SMOKE_WAIT_SECONDS": wait, "SMOKE_RETRY_PAUSE_SECONDS": "0.1",
           "SMOKE_API_KEY": "key"}
    started = time.monotonic()
    result = subprocess.run([ROOT / "scripts/smoke.sh", stage.url, sha], env=env,
                            capture_output=True, text=True, timeout=60)
    return result, time.monotonic() - started


def test_a_healthy_stage_passes(stage_factory):
    result, _ = smoke(stage_factory(sha=SHA))
    assert result.returncode == 0, result.stderr
    assert "smoke: 13 passed, 0 failed" in result.stderr


def test_a_new_key_refused_for_a_while_is_waited_for(stage_factory):
    stage = stage_factory(sha=SHA, refuse_first=10)
    result, _ = smoke(stage)
    assert result.returncode == 0, result.stderr
    assert "got 403, expected 200; retrying" in result.stderr


def test_a_key_that_never_works_fails_in_bounded_time(stage_factory):
    stage = stage_factory(sha=SHA, key="another key")
    result, elapsed = smoke(stage, wait="2")
    assert result.returncode != 0
    assert "FAIL GET / with key: expected 200, got 403" in result.stderr
    assert elapsed < 30


def test_a_stale_commit_sha_is_waited_for(stage_factory):
    stage = stage_factory(sha="cd" * 20)
    original = stage.answer
    calls = {"metadata": 0}

    def answer(path, key):
        status, body = original(path, key)
        if path.endswith("/metadata"):
            calls["metadata"] += 1
            if calls["metadata"] > 3:
                body = {"myapplication": [{"lastcommitsha": SHA}]}
        return status, body

    stage.answer = answer
    result, _ = smoke(stage)
    assert result.returncode == 0, result.stderr
    assert "reports the deployed commit" in result.stderr


def test_a_wrong_commit_sha_fails(stage_factory):
    result, _ = smoke(stage_factory(sha="cd" * 20), wait="1")
    assert result.returncode != 0
    assert f"FAIL /metadata reports lastcommitsha '{'cd' * 20}', deployed {SHA}" in result.stderr


def test_the_keyless_webhook_must_reach_the_function(stage_factory):
    stage = stage_factory(sha=SHA)
    stage.webhook_answer = (401, {"error": {"code": "invalid_signature"}})
    result, _ = smoke(stage)
    assert result.returncode == 0, result.stderr
    (call,) = stage.webhook_calls
    assert "x-api-key" not in {name.lower() for name in call}, "sent without the key"
    # API Gateway's own refusal (a method that wants a key) is not the function's answer.
    stage = stage_factory(sha=SHA)
    stage.webhook_answer = (403, {"message": "Forbidden"})
    result, _ = smoke(stage, wait="1")
    assert result.returncode != 0
    assert "FAIL POST /webhooks/github without key reaches the function" in result.stderr
    # A 404 that is not the function's (no such route) is not either.
    stage = stage_factory(sha=SHA)
    stage.webhook_answer = (404, {"message": "Not Found"})
    result, _ = smoke(stage, wait="1")
    assert result.returncode != 0
    assert "FAIL POST /webhooks/github: not the function's refusal" in result.stderr
