"""Each environment's GitHub deploy role, rendered from infra/bootstrap's HCL for that environment,
against the names the main stack gives each environment's resources: the prod role is trusted
only from the prod GitHub environment and reaches prod's resources, state and tagged APIs only;
the dev role reaches nothing of prod. Tagging cannot move a resource into an environment's reach.

IAM is not evaluated here (no AWS): resource patterns are matched as IAM matches `*`, and
conditions are checked to be present with the right values."""
import fnmatch
import re
from pathlib import Path

import pytest

from conftest import ROOT
from test_infra_rules import attr, blocks, resources, stack

BOOTSTRAP = ROOT / "infra/bootstrap"
MAIN = ROOT / "infra"
PROJECT, REGION, ACCOUNT = "pipeline-events-api", "eu-west-1", "123456789012"
OWNER, REPO = "acme", "events"
ENVIRONMENTS = ["dev", "prod"]
API_ID = "a1b2c3d4e5"
BUCKET = "arn:aws:s3:::example-state"
APIGATEWAY = f"arn:aws:apigateway:{REGION}::"
# Actions without resource-level permissions: "*" is the only resource they take.
ACCOUNT_WIDE = {"ssm:DescribeParameters", "logs:DescribeLogGroups", "sts:GetCallerIdentity",
                "lambda:GetAccountSettings"}
TAGGING = re.compile(r":(Tag|Untag)\w*$|:(AddTagsTo|RemoveTagsFrom)Resource$")


def render(value, env):
    """A bootstrap string (or list) with its references resolved for environment `env`."""
    if isinstance(value, list):
        return [item for v in value for item in (render(v, env) if isinstance(render(v, env), list)
                                                  else [render(v, env)])]
    if value == "${local.apigateway_tags}":
        return [f"{APIGATEWAY}/tags/arn%3Aaws%3Aapigateway%3A{REGION}%3A%3A%2F{kind}%2F*"
                for kind in ["restapis", "apikeys", "usageplans"]]
    if value == "${local.access_tags}":
        return ["Project", "Environment"]
    known = {
        "${var.project_name}": PROJECT, "${var.aws_region}": REGION,
        "${local.region_account}": f"{REGION}:{ACCOUNT}", "${local.account_id}": ACCOUNT,
        "${local.apigateway}": APIGATEWAY, "${each.key}": env, "${aws_s3_bucket.state.arn}": BUCKET,
        "${aws_iam_policy.environment_boundary[each.key].arn}":
            f"arn:aws:iam::{ACCOUNT}:policy/{PROJECT}-{env}-function-boundary",
        "${var.github_owner}": OWNER, "${var.github_repo}": REPO,
        "${local.github_oidc_arn}": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com",
    }
    for reference, replacement in known.items():
        value = value.replace(reference, replacement)
    assert "${" not in value, f"the test cannot resolve {value}: teach render() the reference"
    return value


def document(path, name, env):
    (body,) = [b for block in stack(path).get("data", [])
               for n, b in block.get("aws_iam_policy_document", {}).items() if n == name]
    statements = []
    for statement in body["statement"]:
        statements.append({
            "sid": attr(statement, "sid"),
            "effect": attr(statement, "effect", "Allow"),
            "actions": render(attr(statement, "actions"), env),
            "resources": render(attr(statement, "resources", []), env),
            "conditions": {(attr(c, "test"), attr(c, "variable")): render(attr(c, "values"), env)
                           for c in statement.get("condition", [])},
            "principals": statement.get("principals", []),
        })
    return body, statements


def deploy_policy(env):
    return document(BOOTSTRAP, "deploy", env)[1]


def main_stack_names(env):
    """The ARNs the main stack gives environment `env`'s resources (from infra/'s names)."""
    parsed = stack(MAIN)
    (local_names,) = [b for b in parsed["locals"] if "name" in b]
    name = attr(local_names, "name").replace("${var.project_name}", PROJECT).replace("${var.environment}", env)
    ssm_prefix = attr(local_names, "ssm_prefix").replace("${var.project_name}", PROJECT).replace("${var.environment}", env)

    def resolve(text):
        return (text.replace("${local.name}", name).replace("${local.ssm_prefix}", ssm_prefix)
                .replace("${var.environment}", env).replace("${each.key}", "api-5xx")
                .replace("${aws_api_gateway_rest_api.api.id}", API_ID)
                .replace("${aws_api_gateway_stage.api.stage_name}", env))

    def named(rtype, key="name"):
        return [resolve(str(attr(body, key))) for _, body in resources(parsed, rtype)]

    (function,) = named("aws_lambda_function", "function_name")
    (table,) = named("aws_dynamodb_table")
    (role,) = named("aws_iam_role")
    (topic,) = named("aws_sns_topic")
    (dashboard,) = named("aws_cloudwatch_dashboard", "dashboard_name")
    (stage,) = named("aws_api_gateway_stage", "stage_name")
    makefile = (ROOT / "Makefile").read_text()
    state_key = re.search(r'key=\$\(BIN\)/\$\(ENV\)\.tfstate', makefile).group(0)
    state_key = state_key.removeprefix("key=").replace("$(BIN)", PROJECT).replace("$(ENV)", env)
    arns = {
        "function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}",
        "function version": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}:7",
        "table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}",
        "function role": f"arn:aws:iam::{ACCOUNT}:role/{role}",
        "topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{topic}",
        "dashboard": f"arn:aws:cloudwatch::{ACCOUNT}:dashboard/{dashboard}",
        "state": f"{BUCKET}/{state_key}",
        "state lock": f"{BUCKET}/{state_key}.tflock",
        "record deploy": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{stage}/POST/events",
    }
    for group in named("aws_cloudwatch_log_group"):
        arns[f"log group {group}"] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"
    for alarm in named("aws_cloudwatch_metric_alarm", "alarm_name"):
        arns[f"alarm {alarm}"] = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{alarm}"
    for parameter in named("aws_ssm_parameter"):
        arns[f"parameter {parameter}"] = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{parameter}"
    return arns


def granted(statements, arn, action=None, service=None):
    return [s for s in statements if s["effect"] == "Allow"
            and (action is None or action in s["actions"])
            and (service is None or any(a.startswith(f"{service}:") for a in s["actions"]))
            and any(fnmatch.fnmatchcase(arn, pattern) for pattern in s["resources"])]


def other(env):
    return [e for e in ENVIRONMENTS if e != env]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_role_is_trusted_only_from_its_own_github_environment(env):
    body, (statement,) = document(BOOTSTRAP, "deploy_assume", env)
    assert attr(body, "for_each") == "${local.github_deploy ? local.environments : toset([])}"
    assert statement["actions"] == ["sts:AssumeRoleWithWebIdentity"]
    assert statement["conditions"] == {
        ("StringEquals", "token.actions.githubusercontent.com:aud"): ["sts.amazonaws.com"],
        ("StringEquals", "token.actions.githubusercontent.com:sub"): [f"repo:{OWNER}/{REPO}:environment:{env}"],
    }
    roles = dict(resources(stack(BOOTSTRAP), "aws_iam_role"))
    role = roles["github_deploy"]
    assert render(attr(role, "name"), env) == f"{PROJECT}-github-deploy-{env}"
    assert attr(role, "assume_role_policy") == "${data.aws_iam_policy_document.deploy_assume[each.key].json}"
    (policy,) = [b for n, b in resources(stack(BOOTSTRAP), "aws_iam_role_policy") if n == "github_deploy"]
    assert attr(policy, "policy") == "${data.aws_iam_policy_document.deploy[each.key].json}"
    # No role of the bootstrap is trusted from more than one environment.
    assert "deploy" not in roles


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_role_reaches_its_environments_resources_and_state(env):
    policy = deploy_policy(env)
    for what, arn in main_stack_names(env).items():
        assert granted(policy, arn), f"{env} role cannot reach its own {what}: {arn}"
    names = main_stack_names(env)
    for action, what in [("lambda:UpdateFunctionCode", "function"), ("s3:PutObject", "state"),
                         ("s3:DeleteObject", "state lock"), ("dynamodb:UpdateTable", "table"),
                         ("iam:PassRole", "function role"), ("execute-api:Invoke", "record deploy")]:
        assert granted(policy, names[what], action), f"{env}: {action} on {what}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_role_reaches_another_environments_resources_or_state(env):
    policy = deploy_policy(env)
    for other_env in other(env):
        for what, arn in main_stack_names(other_env).items():
            for statement in granted(policy, arn):
                assert set(statement["actions"]) <= ACCOUNT_WIDE, \
                    f"the {env} role's {statement['sid']} reaches {other_env}'s {what}: {arn}"
        # Its boundary, its deploy role.
        for arn in [f"arn:aws:iam::{ACCOUNT}:policy/{PROJECT}-{other_env}-function-boundary",
                    f"arn:aws:iam::{ACCOUNT}:role/{PROJECT}-github-deploy-{other_env}"]:
            for statement in granted(policy, arn):
                assert statement["effect"] == "Deny" or set(statement["actions"]) <= ACCOUNT_WIDE, \
                    (statement["sid"], arn)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_api_gateway_is_reached_only_through_this_environments_tags(env):
    # REST API, key and usage plan ARNs carry ids, not names: any of them, another team's or
    # another environment's, matches `restapis/*`; the tags must decide.
    policy = deploy_policy(env)
    samples = [f"{APIGATEWAY}/restapis/{API_ID}", f"{APIGATEWAY}/restapis/{API_ID}/stages/{env}",
               f"{APIGATEWAY}/apikeys/k1", f"{APIGATEWAY}/usageplans/p1/keys/k1"]
    for arn in samples:
        statements = granted(policy, arn, service="apigateway")
        assert statements, arn
        for statement in statements:
            conditions = statement["conditions"]
            assert conditions.get(("StringEquals", "aws:ResourceTag/Project")) == [PROJECT], statement["sid"]
            assert conditions.get(("StringEquals", "aws:ResourceTag/Environment")) == [env], statement["sid"]
    for collection in ["restapis", "apikeys", "usageplans"]:
        for statement in granted(policy, f"{APIGATEWAY}/{collection}", service="apigateway"):
            conditions = statement["conditions"]
            assert conditions.get(("StringEquals", "aws:RequestTag/Project")) == [PROJECT], statement["sid"]
            assert conditions.get(("StringEquals", "aws:RequestTag/Environment")) == [env], statement["sid"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tagging_cannot_bring_a_resource_into_reach(env):
    # Tagging another team's API with the project's tags would put it under the tag-scoped
    # statements: API Gateway tag changes may not touch Project or Environment (in any case),
    # and every other tagging action may only write this project's and environment's values.
    policy = deploy_policy(env)
    api_tags = f"{APIGATEWAY}/tags/arn%3Aaws%3Aapigateway%3A{REGION}%3A%3A%2Frestapis%2F{API_ID}"
    writes = {"apigateway:PUT", "apigateway:POST", "apigateway:PATCH", "apigateway:DELETE"}
    for statement in granted(policy, api_tags, service="apigateway"):
        if not writes & set(statement["actions"]):
            continue
        conditions = statement["conditions"]
        assert conditions.get(("Null", "aws:TagKeys")) == ["false"], statement["sid"]
        protected = conditions.get(("ForAllValues:StringNotEqualsIgnoreCase", "aws:TagKeys"), [])
        assert {"Project", "Environment"} <= set(protected), statement["sid"]
    tagging = [s for s in policy if s["effect"] == "Allow" and any(TAGGING.search(a) for a in s["actions"])]
    assert tagging, "the stack's resources are tagged"
    for statement in tagging:
        conditions = statement["conditions"]
        for key, value in [("Project", PROJECT), ("Environment", env)]:
            assert (conditions.get(("StringEqualsIfExists", f"aws:RequestTag/{key}"))
                    or conditions.get(("StringEquals", f"aws:RequestTag/{key}"))) == [value], \
                (statement["sid"], key)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_function_boundary_holds_its_environment(env):
    # A dev deploy can rewrite the dev function and its role's policy: the boundary is what keeps
    # that function away from prod's table, parameters and logs.
    boundary = document(BOOTSTRAP, "function_boundary", env)[1]
    own = main_stack_names(env)
    for what in ["table", f"parameter /{PROJECT}/{env}/version"]:
        assert granted(boundary, own[what]), what
    assert granted(boundary, own[f"log group /aws/lambda/{PROJECT}-{env}"] + ":log-stream:x", service="logs")
    for other_env in other(env):
        theirs = main_stack_names(other_env)
        for what, arn in theirs.items():
            for statement in granted(boundary, arn):
                assert statement["resources"] == ["*"] and all(a.startswith("xray:") for a in statement["actions"]), \
                    (statement["sid"], what)
        their_stream = theirs[f"log group /aws/lambda/{PROJECT}-{other_env}"] + ":log-stream:x"
        assert not granted(boundary, their_stream, service="logs")
    # The main stack gives its function role the boundary of its own environment.
    (local_names,) = [b for b in stack(MAIN)["locals"] if "function_boundary_arn" in b]
    arn = attr(local_names, "function_boundary_arn")
    arn = arn.replace("${data.aws_caller_identity.current.account_id}", ACCOUNT)
    arn = arn.replace("${var.project_name}", PROJECT).replace("${var.environment}", env)
    (policy,) = [b for n, b in resources(stack(BOOTSTRAP), "aws_iam_policy") if n == "environment_boundary"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:policy/{render(attr(policy, 'name'), env)}"


def test_the_main_stack_tags_everything_with_its_project_and_environment():
    # The tag-scoped statements find an environment's APIs by these; var.tags cannot override them.
    ((_, provider),) = [(n, b) for block in stack(MAIN)["provider"] for n, b in block.items()]
    tags = attr(attr(provider, "default_tags"), "tags")
    assert tags.startswith("${merge(var.tags,"), tags
    assert "'Project': '${var.project_name}'" in tags and "'Environment': '${var.environment}'" in tags


def test_bootstrap_makes_a_role_and_boundary_for_every_environment_there_is():
    variables = dict(blocks(stack(BOOTSTRAP), "variable"))
    default = attr(variables["environments"], "default")
    assert sorted(default) == sorted(p.stem for p in (MAIN / "envs").glob("*.tfvars"))
    outputs = dict(blocks(stack(BOOTSTRAP), "output"))
    assert "aws_iam_role.github_deploy" in attr(outputs["deploy_role_arns"], "value")


def test_the_shared_boundary_is_forgotten_not_deleted_while_roles_still_carry_it():
    (removed,) = stack(BOOTSTRAP)["removed"]
    assert attr(removed, "from") == "${aws_iam_policy.function_boundary}"
    assert attr(attr(removed, "lifecycle"), "destroy") is False
