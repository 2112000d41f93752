"""Rules for .github/ that actionlint does not check: pinned actions, no token left behind,
prod from main only, a queued prod deploy never cancelled by a push."""
import re
import subprocess

import pytest
import yaml

from conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))


def steps(path):
    workflow = yaml.safe_load(path.read_text())
    for job in workflow["jobs"].values():
        yield from job.get("steps", [])


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_third_party_actions_are_pinned_to_a_commit_with_the_tag_beside_it(path):
    for line in path.read_text().splitlines():
        match = re.search(r"uses: (\S+)", line)
        if match and not match.group(1).startswith("./"):
            assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", match.group(1)), line
            assert re.search(r"# v\d+\.\d+\.\d+$", line), f"tag comment missing: {line}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkout_leaves_no_token_in_the_git_config(path):
    for step in steps(path):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False


def test_prod_is_deployed_from_main_only():
    deploy = yaml.safe_load((ROOT / ".github/workflows/deploy.yml").read_text())["jobs"]["deploy"]
    guard = deploy["steps"][0]
    assert guard["if"] == "env.ENV == 'prod' && github.ref != 'refs/heads/main'"
    assert "exit 1" in guard["run"]
    assert deploy["env"]["AUTO_APPROVE"] == "1"


def test_a_dispatch_has_a_ci_concurrency_group_of_its_own():
    ci = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    group = ci["concurrency"]["group"]
    assert "github.event_name == 'workflow_dispatch' && github.run_id" in group


def test_dependabot_keeps_actions_and_crates_current():
    config = yaml.safe_load((ROOT / ".github/dependabot.yml").read_text())
    ecosystems = {update["package-ecosystem"] for update in config["updates"]}
    assert {"github-actions", "cargo"} <= ecosystems


def test_each_deploy_assumes_the_role_of_the_github_environment_it_declares():
    # The role ARN is the variable of the job's GitHub environment (which overrides a repository
    # variable of the same name), and the job checks it is that environment's deploy role before
    # asking for credentials: the prod role is trusted only from environment:prod.
    deploy = yaml.safe_load((ROOT / ".github/workflows/deploy.yml").read_text())["jobs"]["deploy"]
    environment = deploy["environment"]["name"]
    assert deploy["env"]["ENV"] == environment
    (assume,) = [i for i, s in enumerate(deploy["steps"])
                 if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
    assert deploy["steps"][assume]["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    guards = [s for s in deploy["steps"][:assume]
              if s.get("env", {}).get("ROLE_ARN") == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"]
    assert len(guards) == 1
    assert '-github-deploy-"$ENV"' in guards[0]["run"] and "exit 1" in guards[0]["run"]


@pytest.mark.parametrize("role, accepted", [
    ("arn:aws:iam::123456789012:role/pipeline-events-api-github-deploy-dev", True),
    ("arn:aws:iam::123456789012:role/pipeline-events-api-github-deploy-prod", False),
    ("arn:aws:iam::123456789012:role/pipeline-events-api-github-deploy", False),
    ("", False),
])
def test_the_role_guard_accepts_only_the_environments_role(role, accepted, tmp_path):
    deploy = yaml.safe_load((ROOT / ".github/workflows/deploy.yml").read_text())["jobs"]["deploy"]
    (guard,) = [s for s in deploy["steps"] if s.get("env", {}).get("ROLE_ARN")]
    result = subprocess.run(["bash", "-e", "-c", guard["run"]], env={"ROLE_ARN": role, "ENV": "dev"},
                            capture_output=True, text=True, timeout=10)
    assert (result.returncode == 0) == accepted, result.stdout
