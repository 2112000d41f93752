"""Every Makefile target that changes AWS, run as a user and as CI would: none may hang on, or be
refused for, a confirmation nobody can give; each asks a person first, and CI says so."""
import json
import os
import pty
import re
import subprocess

import pytest

from conftest import STAND_INS

CHANGING_TARGETS = ["bootstrap", "deploy", "destroy"]


def applies(project):
    return [c for c in project.calls("terraform") if c["args"][0] in ("apply", "destroy")]


def deploy_env(stage, project, **extra):
    outputs = {"invoke_url": stage.url, "api_key_value": "key",
               "deployed_commit_sha": project.commit_sha()}
    # Credentials as GitHub's OIDC step exports them: what scripts/record.sh signs with.
    credentials = {"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
                   "AWS_SESSION_TOKEN": "session-token"}
    return {"FAKE_TF_OUTPUTS": json.dumps(outputs), **credentials, **extra}


@pytest.mark.parametrize("target", CHANGING_TARGETS)
def test_without_a_terminal_a_change_stops_before_applying_and_says_how(project, target):
    result = project.make(target, "ENV=dev")
    assert result.returncode != 0
    assert "AUTO_APPROVE=1" in result.stderr
    assert applies(project) == []
    # It planned first: the user saw what would change.
    assert any(c["args"][0] == "plan" for c in project.calls("terraform"))


@pytest.mark.parametrize("target", CHANGING_TARGETS)
def test_auto_approve_applies_the_plan_that_was_shown(project, target, stage_factory):
    stage = stage_factory(sha=project.commit_sha())
    result = project.make(target, "ENV=dev", env=deploy_env(stage, project, AUTO_APPROVE="1"))
    assert result.returncode == 0, result.stderr
    plans = [c for c in project.calls("terraform") if c["args"][0] == "plan"]
    (apply,) = applies(project)
    out = next(a for a in plans[-1]["args"] if a.startswith("-out="))[len("-out="):]
    assert apply["args"] == ["apply", "-input=false", out]
    assert apply["chdir"] == plans[-1]["chdir"]
    if target == "destroy":
        assert "-destroy" in plans[-1]["args"]
    # The saved plan (it can hold sensitive values) is gone.
    assert not (project.path / apply["chdir"] / out).exists()


def run_on_a_terminal(project, target, typed, env):
    """make with its stdin on a pseudo-terminal, `typed` sent once it asks."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen(
            ["make", "--no-print-directory", target, "ENV=dev"], cwd=project.path,
            env={**os.environ, **env}, stdin=follower, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        os.write(leader, typed.encode())
        stdout, stderr = process.communicate(timeout=60)
    finally:
        os.close(leader)
        os.close(follower)
    return process.returncode, stderr


@pytest.mark.parametrize("typed, applied", [("yes\n", True), ("no\n", False)])
def test_a_person_confirms_on_the_terminal(project, typed, applied):
    env = {"PATH": f"{STAND_INS}:{os.environ['PATH']}", "FAKE_LOG": str(project.log),
           "AWS_REGION": "eu-west-1", "TF_STATE_BUCKET": "example-state"}
    project.log.write_text("")
    status, stderr = run_on_a_terminal(project, "bootstrap", typed, env)
    assert (status == 0) == applied, stderr
    assert len(applies(project)) == (1 if applied else 0)
    if not applied:
        assert "Cancelled: nothing was changed" in stderr


def test_no_changes_means_no_apply_and_no_question(project):
    result = project.make("bootstrap", env={"FAKE_TF_PLAN_EXIT": "0"})
    assert result.returncode == 0, result.stderr
    assert applies(project) == []


def test_a_failed_plan_stops_everything(project):
    result = project.make("destroy", "ENV=dev", env={"FAKE_TF_PLAN_EXIT": "1", "AUTO_APPROVE": "1"})
    assert result.returncode != 0
    assert applies(project) == []


def test_bootstrap_for_a_laptop_needs_no_github_repository(project):
    result = project.make("bootstrap", env={"AUTO_APPROVE": "1"})
    assert result.returncode == 0, result.stderr
    plan = next(c for c in project.calls("terraform") if c["args"][0] == "plan")
    assert not any(a.startswith("-var=github_owner") for a in plan["args"])
    assert "-var=github_oidc_provider=create" in plan["args"]
    assert "bootstrap-outputs" in result.stderr and "terraform.tfstate" in result.stderr


def test_bootstrap_needs_both_github_names_or_neither(project):
    result = project.make("bootstrap", env={"AUTO_APPROVE": "1", "GITHUB_OWNER": "acme"})
    assert result.returncode != 0
    assert "GITHUB_OWNER and GITHUB_REPO" in result.stderr
    assert project.calls("terraform") == []


GITHUB = {"AUTO_APPROVE": "1", "GITHUB_OWNER": "acme", "GITHUB_REPO": "events"}
EXISTING = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"


def test_bootstrap_names_the_setting_when_the_account_has_githubs_provider(project):
    result = project.make("bootstrap", env={**GITHUB, "FAKE_AWS_OIDC_PROVIDERS": EXISTING})
    assert result.returncode != 0
    assert "GITHUB_OIDC_PROVIDER=existing" in result.stderr
    assert applies(project) == []


def test_bootstrap_reuses_an_existing_provider(project):
    env = {**GITHUB, "FAKE_AWS_OIDC_PROVIDERS": EXISTING, "GITHUB_OIDC_PROVIDER": "existing"}
    result = project.make("bootstrap", env=env)
    assert result.returncode == 0, result.stderr
    # Where each environment's deploy role goes.
    assert "AWS_DEPLOY_ROLE_ARN of the GitHub environment" in result.stderr
    plan = next(c for c in project.calls("terraform") if c["args"][0] == "plan")
    assert "-var=github_oidc_provider=existing" in plan["args"]
    assert "-var=github_owner=acme" in plan["args"]


def test_a_provider_this_bootstrap_made_is_not_mistaken_for_a_foreign_one(project):
    env = {**GITHUB, "FAKE_AWS_OIDC_PROVIDERS": EXISTING,
           "FAKE_TF_STATE": "aws_iam_openid_connect_provider.github[0]"}
    result = project.make("bootstrap", env=env)
    assert result.returncode == 0, result.stderr


def test_bootstrap_outputs_can_be_printed_again(project):
    result = project.make("bootstrap-outputs")
    assert result.returncode == 0, result.stderr
    assert 'invoke_url = "' in result.stdout
    (call,) = project.calls("terraform")
    assert call["chdir"] == "infra/bootstrap" and call["args"] == ["output"]


def test_an_unknown_env_is_named_before_credentials_are_checked(project):
    result = project.make("deploy", "ENV=staging")
    assert result.returncode != 0
    assert "ENV must name one of: dev prod" in result.stderr
    assert project.calls("aws") == []


def test_the_aws_clis_own_error_is_shown(project):
    error = "The config profile (my-profile) could not be found"
    result = project.make("plan", "ENV=dev", env={"FAKE_AWS_STS_ERROR": error})
    assert result.returncode != 0
    assert error in result.stderr


def reserve(project, env, count):
    tfvars = project.path / f"infra/envs/{env}.tfvars"
    text, replaced = re.subn(r"(?m)^lambda_reserved_concurrency *= *-?\d+",
                             f"lambda_reserved_concurrency = {count}", tfvars.read_text())
    assert replaced == 1
    tfvars.write_text(text)


def test_reserved_concurrency_the_account_cannot_give_stops_the_deploy(project):
    reserve(project, "dev", 50)
    env = {"AUTO_APPROVE": "1", "ALLOW_DIRTY": "1", "FAKE_AWS_CONCURRENCY": "10\t10"}
    result = project.make("deploy", "ENV=dev", env=env)
    assert result.returncode != 0
    assert "reserves 50" in result.stderr and "lambda_reserved_concurrency = -1" in result.stderr
    assert applies(project) == []


def test_reserved_concurrency_that_fits_is_let_through(project, stage_factory):
    reserve(project, "dev", 50)
    stage = stage_factory(sha=project.commit_sha())
    env = deploy_env(stage, project, AUTO_APPROVE="1", ALLOW_DIRTY="1",
                     FAKE_AWS_CONCURRENCY="1000\t1000")
    result = project.make("deploy", "ENV=dev", env=env)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_a_new_account_is_told_what_the_shipped_reservation_needs(project, env):
    # New accounts often have a concurrency limit of 10: the shipped reservations (README: the
    # account needs N + 100) stop the deploy before anything changes, saying what to ask for.
    env_vars = {"AUTO_APPROVE": "1", "FAKE_AWS_CONCURRENCY": "10\t10"}
    result = project.make("deploy", f"ENV={env}", env=env_vars)
    assert result.returncode != 0
    assert "Lambda keeps 100 unreserved" in result.stderr and "ask AWS Support" in result.stderr
    assert applies(project) == []


def test_make_logs_needs_aws_cli_v2(project):
    result = project.make("logs", "ENV=dev", env={"FAKE_AWS_VERSION": "aws-cli/1.45.11 Python/3.11"})
    assert result.returncode != 0
    assert "AWS CLI v2" in result.stderr
    assert not any(c["args"][:2] == ["logs", "tail"] for c in project.calls("aws"))


def test_a_deploy_smoke_tests_the_stage_it_applied(project, stage_factory):
    stage = stage_factory(sha=project.commit_sha(), refuse_first=3)
    result = project.make("deploy", "ENV=dev", env=deploy_env(stage, project, AUTO_APPROVE="1"))
    assert result.returncode == 0, result.stderr
    assert "smoke: 13 passed, 0 failed" in result.stderr
    # Then it records itself, and the smoke test reads that event back.
    assert "smoke: 14 passed, 0 failed" in result.stderr


def test_a_deploy_records_itself_signed_once_per_run(project, stage_factory):
    stage = stage_factory(sha=project.commit_sha())
    env = deploy_env(stage, project, AUTO_APPROVE="1", GITHUB_RUN_ID="4242", GITHUB_ACTOR="octocat",
                     GITHUB_REPOSITORY="octo-org/pipeline-events-api")
    result = project.make("deploy", "ENV=prod", env=env)
    assert result.returncode == 0, result.stderr
    (post,) = stage.posts
    assert post["path"] == "/dev/events"
    # The service is the repository, as GitHub names it.
    assert post["body"] == {"sha": project.commit_sha(), "action": "deploy", "engineer": "octocat",
                            "service": "octo-org/pipeline-events-api"}
    headers = {k.lower(): v for k, v in post["headers"].items()}
    assert headers["idempotency-key"] == "github-run-4242-prod"
    assert headers["x-amz-security-token"] == "session-token"
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "ok   GET /events/77 (the deploy just recorded) (200)" in result.stderr


@pytest.mark.parametrize("remote, args, service", [
    # No remote: the stage's DEFAULT_SERVICE (the body names none).
    (None, [], None),
    ("git@github.com:octo-org/checkout.git", [], "octo-org/checkout"),
    ("https://gitlab.example.com/group/sub/checkout.git", [], "group/sub/checkout"),
    # A local path is no name a code host uses.
    ("/srv/git/checkout", [], None),
    ("git@github.com:octo-org/checkout.git", ["SERVICE=octo-org/other"], "octo-org/other"),
])
def test_make_record_names_the_repository_as_the_service(project, stage_factory, remote, args, service):
    if remote:
        subprocess.run(["git", "remote", "add", "origin", remote], cwd=project.path, check=True)
    stage = stage_factory(sha=project.commit_sha())
    result = project.make("record", "ENV=dev", *args, env=deploy_env(stage, project))
    assert result.returncode == 0, result.stderr
    (post,) = stage.posts
    assert post["body"].get("service") == service


def test_make_record_takes_action_and_engineer_from_the_command_line(project, stage_factory):
    stage = stage_factory(sha=project.commit_sha())
    env = deploy_env(stage, project, SHA="not-from-the-environment")
    result = project.make("record", "ENV=dev", "ACTION=rollback", "ENGINEER=Jo \"JJ\" Doe", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "77"
    (post,) = stage.posts
    assert post["body"] == {"sha": project.commit_sha(), "action": "rollback", "engineer": 'Jo "JJ" Doe'}
    key = {k.lower(): v for k, v in post["headers"].items()}["idempotency-key"]
    assert key.startswith(f"laptop-dev-{project.commit_sha()}-")


@pytest.mark.parametrize("env_name, action", [("dev", "build"), ("prod", "release")])
def test_a_deploy_records_the_action_names_the_stack_counts(project, stage_factory, env_name, action):
    stage = stage_factory(sha=project.commit_sha())
    env = deploy_env(stage, project, AUTO_APPROVE="1")
    env["FAKE_TF_OUTPUTS"] = json.dumps({**json.loads(env["FAKE_TF_OUTPUTS"]), **RENAMED_ACTIONS})
    result = project.make("deploy", f"ENV={env_name}", env=env)
    assert result.returncode == 0, result.stderr
    (post,) = stage.posts
    assert post["body"]["action"] == action


def test_make_record_stops_when_the_stacks_action_names_cannot_be_read(project, stage_factory):
    stage = stage_factory(sha=project.commit_sha())
    env = deploy_env(stage, project, FAKE_TF_JSON_OUTPUT_FAILS="1")
    result = project.make("record", "ENV=prod", env=env)
    assert result.returncode != 0
    assert "could not read the stack's outputs" in result.stderr
    assert stage.posts == []


def test_a_deploy_whose_recording_fails_still_succeeds_with_a_warning(project, stage_factory):
    stage = stage_factory(sha=project.commit_sha(), post_status=500)
    result = project.make("deploy", "ENV=dev", env=deploy_env(stage, project, AUTO_APPROVE="1"))
    assert result.returncode == 0, result.stderr
    assert "warning: deployed and smoke-tested, but recording the deploy failed" in result.stderr
    assert "POST /events answered 500" in result.stderr
    assert len(stage.posts) == 4, "curl retried the 500 three times, with the same key"
    keys = {p["headers"].get("idempotency-key") or p["headers"].get("Idempotency-Key") for p in stage.posts}
    assert len(keys) == 1


def test_tests_get_no_aws_settings_from_dotenv(project, tmp_path):
    # The README's first deploy step.
    (project.path / ".env").write_text((project.path / ".env.example").read_text())
    recorder = tmp_path / "cargo-env.json"
    fake_cargo = tmp_path / "cargo"
    fake_cargo.write_text(
        "#!/usr/bin/env python3\nimport json, os, sys\n"
        f"json.dump(dict(os.environ), open({str(recorder)!r}, 'w'))\n")
    fake_cargo.chmod(0o755)
    skipped = ["tools", "objdump", "lint", "check-infra", "check-workflows", "check-scripts",
               "check-openapi", "package-host", "test-deploy", "fuzz", "test-pages"]
    result = project.make(*[f"-o{t}" for t in skipped], "test", f"CARGO={fake_cargo}",
                          env={"AWS_ACCESS_KEY_ID": "AKIAFROMSHELL"})
    assert result.returncode == 0, result.stderr
    seen = json.loads(recorder.read_text())
    for name in ["AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_REGION"]:
        assert name not in seen, name
    assert seen["AWS_CONFIG_FILE"] == "/dev/null"
    assert seen["AWS_SHARED_CREDENTIALS_FILE"] == "/dev/null"


def test_auto_approve_from_dotenv_is_honoured(project, stage_factory):
    (project.path / ".env").write_text("AUTO_APPROVE=1\n")
    result = project.make("destroy", "ENV=dev")
    assert result.returncode == 0, result.stderr
    assert len(applies(project)) == 1


def fake_binary(project):
    """A stand-in for the release binary that records its environment and arguments."""
    binary = project.path / "target/release/pipeline-events-api"
    binary.parent.mkdir(parents=True, exist_ok=True)
    binary.write_text(
        "#!/usr/bin/env python3\n"
        "import json, os, sys\n"
        "with open(os.environ['FAKE_LOG'], 'a') as log:\n"
        "    log.write(json.dumps({'tool': 'binary', 'args': sys.argv[1:],\n"
        "        'env': {k: os.environ.get(k) for k in ('EVENT_STORE', 'EVENTS_TABLE', 'AWS_REGION',\n"
        "            'DEPLOY_ACTION', 'STAGE_ACTION', 'ROLLBACK_ACTION', 'COMMIT_ACTION', 'HOTFIX_ACTION',\n"
        "            'ALLOWED_ACTIONS',\n"
        "            'DEFAULT_SERVICE')}}) + '\\n')\n")
    binary.chmod(0o755)


@pytest.mark.parametrize("target, args", [("import", ["import", "events.jsonl"]),
                                          ("verify", ["verify"])])
def test_import_and_verify_run_the_binary_on_the_stages_table(project, target, args):
    fake_binary(project)
    (project.path / "events.jsonl").write_text("{}\n")
    outputs = json.dumps({"events_table": "pipeline-events-api-dev-events"})
    result = project.make(target, "ENV=dev", "FILE=events.jsonl", "CARGO=true",
                          env={"FAKE_TF_OUTPUTS": outputs})
    assert result.returncode == 0, result.stderr
    (call,) = project.calls("binary")
    assert call["args"] == args
    # A stack applied before it had the action names as outputs runs the function on the
    # defaults: so do the commands.
    assert call["env"] == {"EVENT_STORE": "dynamodb", "EVENTS_TABLE": "pipeline-events-api-dev-events",
                           "AWS_REGION": "eu-west-1", "DEPLOY_ACTION": "deploy",
                           "STAGE_ACTION": "stage", "ROLLBACK_ACTION": "rollback", "COMMIT_ACTION": "commit",
                           "HOTFIX_ACTION": "hotfix", "ALLOWED_ACTIONS": None,
                           "DEFAULT_SERVICE": None}


RENAMED_ACTIONS = {"deploy_action": "release", "stage_action": "build", "rollback_action": "revert",
                   "commit_action": "push", "hotfix_action": "patch",
                   "allowed_actions": "build,patch,push,release,revert", "default_service": "octo-org/web"}


@pytest.mark.parametrize("target, args", [("import", ["import", "events.jsonl"]),
                                          ("verify", ["verify"])])
def test_import_and_verify_count_the_action_names_the_stack_gives_its_function(project, target, args):
    fake_binary(project)
    (project.path / "events.jsonl").write_text("{}\n")
    outputs = json.dumps({"events_table": "t-events", **RENAMED_ACTIONS})
    result = project.make(target, "ENV=dev", "FILE=events.jsonl", "CARGO=true",
                          env={"FAKE_TF_OUTPUTS": outputs, "DEPLOY_ACTION": "from-the-shell"})
    assert result.returncode == 0, result.stderr
    (call,) = project.calls("binary")
    assert call["args"] == args
    kinds = ("DEPLOY_ACTION", "STAGE_ACTION", "ROLLBACK_ACTION", "COMMIT_ACTION", "HOTFIX_ACTION")
    assert tuple(call["env"][kind] for kind in kinds) == ("release", "build", "revert", "push", "patch")
    # The actions the function records: an import accepts the same ones; a record naming no
    # service is the function's default service's.
    assert call["env"]["ALLOWED_ACTIONS"] == "build,patch,push,release,revert"
    assert call["env"]["DEFAULT_SERVICE"] == "octo-org/web"


def test_import_gives_records_without_a_service_the_one_named(project):
    fake_binary(project)
    (project.path / "events.jsonl").write_text("{}\n")
    outputs = json.dumps({"events_table": "t-events", **RENAMED_ACTIONS})
    result = project.make("import", "ENV=dev", "FILE=events.jsonl", "SERVICE=octo-org/api", "CARGO=true",
                          env={"FAKE_TF_OUTPUTS": outputs})
    assert result.returncode == 0, result.stderr
    (call,) = project.calls("binary")
    assert call["args"] == ["import", "events.jsonl", "--service", "octo-org/api"]


def test_import_stops_when_the_stacks_allowed_actions_are_not_action_names(project):
    fake_binary(project)
    (project.path / "events.jsonl").write_text("{}\n")
    outputs = json.dumps({"events_table": "t-events", **RENAMED_ACTIONS, "allowed_actions": "Deploy Now"})
    result = project.make("import", "ENV=dev", "FILE=events.jsonl", "CARGO=true",
                          env={"FAKE_TF_OUTPUTS": outputs})
    assert result.returncode != 0
    assert "allowed_actions output is not a list of action names" in result.stderr
    assert project.calls("binary") == []


@pytest.mark.parametrize("target", ["import", "verify"])
def test_import_and_verify_stop_when_the_stacks_action_names_cannot_be_read(project, target):
    fake_binary(project)
    (project.path / "events.jsonl").write_text("{}\n")
    outputs = json.dumps({"events_table": "t-events", **RENAMED_ACTIONS})
    result = project.make(target, "ENV=dev", "FILE=events.jsonl", "CARGO=true",
                          env={"FAKE_TF_OUTPUTS": outputs, "FAKE_TF_JSON_OUTPUT_FAILS": "1"})
    assert result.returncode != 0
    assert "could not read the stack's outputs" in result.stderr
    # Not run with the defaults: a rebuild would count the table for names the function does not.
    assert project.calls("binary") == []


def test_verify_rebuild_is_asked_for_by_name(project):
    fake_binary(project)
    outputs = json.dumps({"events_table": "t-events"})
    result = project.make("verify", "ENV=dev", "REBUILD=1", "CARGO=true", env={"FAKE_TF_OUTPUTS": outputs})
    assert result.returncode == 0, result.stderr
    assert project.calls("binary")[0]["args"] == ["verify", "--rebuild"]


@pytest.mark.parametrize("file, message", [("", "FILE=path/to/events.jsonl"), ("missing.jsonl", "no file at missing.jsonl")])
def test_import_names_the_file_it_needs(project, file, message):
    fake_binary(project)
    result = project.make("import", "ENV=dev", f"FILE={file}", "CARGO=true")
    assert result.returncode != 0
    assert message in result.stderr
    assert project.calls("binary") == []


def config_values(config, option):
    """The values of `option = "..."` lines of a curl config, unescaped as curl reads them."""
    values = []
    for line in config.splitlines():
        name, _, quoted = line.partition(" = ")
        if name == option:
            assert quoted.startswith('"') and quoted.endswith('"'), line
            values.append(re.sub(r"\\(.)", r"\1", quoted[1:-1]))
    return values


@pytest.mark.parametrize("target", ["record", "deploy"])
def test_the_signing_secrets_never_reach_a_command_line(project, stage_factory, target):
    # Anyone on the machine can read a process's arguments (ps, /proc/<pid>/cmdline): the secret
    # key and session token go to curl on its standard input. Quotes and backslashes survive.
    secret, token = 'wJalr"XUtnFEMI\\K7MDENG/bPxRfiCY', 'IQoJb3"JpZ2luX2Vj\\EGUaCXVzLWVhc3QtMSJH'
    stage = stage_factory(sha=project.commit_sha())
    env = deploy_env(stage, project, AUTO_APPROVE="1", AWS_SECRET_ACCESS_KEY=secret,
                     AWS_SESSION_TOKEN=token)
    result = project.make(target, "ENV=dev", env=env)
    assert result.returncode == 0, result.stderr
    calls = project.calls("curl")
    assert calls, "curl was called through the stand-in"
    for call in calls:
        for arg in call["args"]:
            assert secret not in arg and token not in arg, call["args"]
            assert "AKIDEXAMPLE:" not in arg, call["args"]
            # Nor the stage's API key, which the smoke test sends from a header file.
            assert "x-api-key" not in arg.lower(), call["args"]
    (signed,) = [c for c in calls if c["stdin"] is not None]
    assert config_values(signed["stdin"], "user") == [f"AKIDEXAMPLE:{secret}"]
    assert config_values(signed["stdin"], "header") == [f"x-amz-security-token: {token}"]
    (post,) = stage.posts
    headers = {k.lower(): v for k, v in post["headers"].items()}
    assert headers["x-amz-security-token"] == token
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")


WEBHOOK_PREFIX = "/pipeline-events-api/dev/webhooks"


def webhook_secret(project, *args, typed="", env=None):
    outputs = json.dumps({"webhook_secrets_prefix": WEBHOOK_PREFIX})
    return project.make("webhook-secret", "ENV=dev", *args,
                        env={"FAKE_TF_OUTPUTS": outputs, **(env or {})}, stdin=None,
                        input_text=typed)


def puts(project):
    return [json.loads(call["stdin"]) for call in project.calls("aws")
            if call["args"][:2] == ["ssm", "put-parameter"]]


def test_a_webhook_secret_is_written_as_a_secure_string_never_on_a_command_line(project):
    secret = 'a "secret" with \\ and spaces, 40 chars'
    result = webhook_secret(project, "HOST=github", typed=secret + "\n")
    assert result.returncode == 0, (result.stderr, project.calls("aws"))
    assert puts(project) == [{
        "Name": f"{WEBHOOK_PREFIX}/github-secret", "Value": secret, "Type": "SecureString",
        "Overwrite": True, "Description": "Webhook secret, written by make webhook-secret"}]
    for call in project.calls("aws") + project.calls("terraform"):
        assert not any(secret in arg for arg in call["args"]), call["args"]
    assert secret not in result.stdout + result.stderr


def test_an_empty_answer_generates_a_secret_shown_once(project):
    result = webhook_secret(project, "HOST=gitlab", typed="\n")
    assert result.returncode == 0, result.stderr
    (put,) = puts(project)
    assert put["Name"] == f"{WEBHOOK_PREFIX}/gitlab-token"
    assert len(put["Value"]) == 64 and put["Value"] in result.stdout


def test_a_rotation_keeps_the_old_secret_as_the_previous_one_until_retired(project):
    old = "the secret GitHub has now, long"
    result = webhook_secret(project, "HOST=github", "ROTATE=1", typed="the new secret, also long\n",
                            env={"FAKE_AWS_SSM_VALUE": old})
    assert result.returncode == 0, result.stderr
    assert [(p["Name"], p["Value"]) for p in puts(project)] == [
        (f"{WEBHOOK_PREFIX}/github-secret-previous", old),
        (f"{WEBHOOK_PREFIX}/github-secret", "the new secret, also long")]
    result = webhook_secret(project, "HOST=github", "RETIRE=1")
    assert result.returncode == 0, result.stderr
    (delete,) = [c for c in project.calls("aws") if c["args"][:2] == ["ssm", "delete-parameter"]]
    assert json.loads(delete["stdin"]) == {"Name": f"{WEBHOOK_PREFIX}/github-secret-previous"}


@pytest.mark.parametrize("args, typed, message", [
    (["HOST=bitbucket"], "a secret long enough to use\n", "HOST=github|gitlab"),
    (["HOST=github"], "short\n", "at least 16 characters"),
    (["HOST=github", "ROTATE=1"], "a secret long enough to use\n", "no secret to rotate"),
    (["HOST=github", "ROTATE=1", "RETIRE=1"], "a secret long enough to use\n", "not both"),
])
def test_a_webhook_secret_that_cannot_be_set_is_refused_with_why(project, args, typed, message):
    result = webhook_secret(project, *args, typed=typed)
    assert result.returncode != 0
    assert message in result.stderr
    assert puts(project) == []
