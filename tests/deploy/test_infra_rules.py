"""Rules for infra/ that `terraform validate` cannot check offline (or at all) and that a review
found broken: each would otherwise show only in a user's first real plan or apply."""
import fnmatch
import re
from pathlib import Path

import hcl2
import pytest

from conftest import ROOT

INFRA = ROOT / "infra"
# Attributes the AWS provider marks sensitive, of resources this project uses or may.
SENSITIVE_ATTRIBUTES = {
    "aws_ssm_parameter": {"value"},
    "aws_api_gateway_api_key": {"value"},
    "aws_iam_access_key": {"secret", "ses_smtp_password_v4"},
}


def attr(body, key, default=None):
    """An attribute's value: this HCL parser wraps each in a list of one."""
    value = body.get(key, default)
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def stack(path: Path) -> dict:
    merged: dict = {}
    for file in sorted(path.glob("*.tf")):
        with file.open() as handle:
            for kind, blocks in hcl2.load(handle).items():
                merged.setdefault(kind, []).extend(blocks)
    return merged


def blocks(parsed, kind):
    for block in parsed.get(kind, []):
        yield from block.items()


def resources(parsed, rtype):
    for block in parsed.get("resource", []):
        for name, body in block.get(rtype, {}).items():
            yield name, body


@pytest.mark.parametrize("path", [INFRA, INFRA / "bootstrap"], ids=["main", "bootstrap"])
def test_root_outputs_of_sensitive_values_are_marked_sensitive(path):
    # "Output refers to sensitive values" fails plan, never validate.
    for name, body in blocks(stack(path), "output"):
        value = str(attr(body, "value"))
        refers = any(re.search(rf"\b{rtype}\.[\w\[\]*]+\.{attr}\b", value)
                     for rtype, attrs in SENSITIVE_ATTRIBUTES.items() for attr in attrs)
        if refers:
            assert attr(body, "sensitive") is True, f"output {name} needs sensitive = true"


def test_the_function_starts_after_its_parameters_are_written():
    (_, function), = resources(stack(INFRA), "aws_lambda_function")
    depends = str(attr(function, "depends_on", []))
    for name, _ in resources(stack(INFRA), "aws_ssm_parameter"):
        assert f"aws_ssm_parameter.{name}" in depends


def test_function_roles_carry_the_boundary():
    for name, role in resources(stack(INFRA), "aws_iam_role"):
        assert "function_boundary" in str(attr(role, "permissions_boundary")), name


def test_api_gateway_execution_logs_are_managed():
    names = [str(attr(body, "name")) for _, body in resources(stack(INFRA), "aws_cloudwatch_log_group")]
    assert any(name.startswith("API-Gateway-Execution-Logs_") for name in names)


def test_the_default_package_path_is_where_make_package_writes():
    variables = dict(blocks(stack(INFRA), "variable"))
    default = attr(variables["lambda_package_path"], "default")
    arch = attr(variables["lambda_architecture"], "default")
    makefile = (ROOT / "Makefile").read_text()
    package = re.search(r"^PACKAGE\s*=\s*(\S+)", makefile, re.M).group(1)
    package = package.replace("$(ARCH)", arch).replace("$(BIN)", "pipeline-events-api")
    assert default == f"../{package}"


def deploy_statements():
    (_, document), = [(n, b) for n, b in
                      ((n, b) for block in stack(INFRA / "bootstrap").get("data", [])
                       for n, b in block.get("aws_iam_policy_document", {}).items())
                      if n == "deploy"]
    return document["statement"]


def conditions(statement):
    return {(attr(c, "test"), attr(c, "variable")): attr(c, "values")
            for c in statement.get("condition", [])}


def actions(statement):
    return attr(statement, "actions")


def test_the_deploy_role_names_every_action():
    for statement in deploy_statements():
        for action in actions(statement):
            assert "*" not in action, f"{attr(statement, 'sid')}: {action}"


def test_the_deploy_role_cannot_write_iam_outside_the_boundary():
    boundary = "${aws_iam_policy.environment_boundary[each.key].arn}"
    writes = {"iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy",
              "iam:PutRolePermissionsBoundary", "iam:DeleteRolePolicy"}
    for statement in deploy_statements():
        if attr(statement, "effect") == "Deny":
            continue
        granted = writes & set(actions(statement))
        if granted:
            assert conditions(statement).get(("StringEquals", "iam:PermissionsBoundary")) == [boundary], granted
        if "iam:PassRole" in actions(statement):
            assert conditions(statement)[("StringEquals", "iam:PassedToService")] == ["lambda.amazonaws.com"]


def test_the_deploy_roles_iam_resources_match_no_bootstrap_role():
    # Each environment's deploy policy, on that environment's names: no IAM action reaches a
    # role the bootstrap makes (it could rewrite a deploy role's trust or policy), but for reading
    # its own role (the main stack reads the deployer's role for its path).
    account = "123456789012"
    bootstrap_roles = {(env, str(attr(body, "name")).replace("${var.project_name}", "pipeline-events-api")
                        .replace("${each.key}", env))
                       for _, body in resources(stack(INFRA / "bootstrap"), "aws_iam_role")
                       for env in ("dev", "prod")}
    assert len(bootstrap_roles) >= 3, "bootstrap makes the logging role and a deploy role per environment"
    for env in ("dev", "prod"):
        for statement in deploy_statements():
            if attr(statement, "effect") == "Deny" or not any(a.startswith("iam:") for a in actions(statement)):
                continue
            for resource in attr(statement, "resources"):
                pattern = (resource.replace("${local.account_id}", account)
                           .replace("${var.project_name}", "pipeline-events-api").replace("${each.key}", env))
                for role_env, role in bootstrap_roles:
                    if not fnmatch.fnmatch(f"arn:aws:iam::{account}:role/{role}", pattern):
                        continue
                    assert actions(statement) == ["iam:GetRole"] and role_env == env \
                        and role.endswith(f"-github-deploy-{env}"), (env, attr(statement, "sid"), role)


def test_the_deploy_role_cannot_change_api_gateway_account_settings():
    for statement in deploy_statements():
        for resource in attr(statement, "resources", []):
            assert "/account" not in resource
            if "apigateway" in resource and resource.endswith("::/*"):
                pytest.fail(f"every API of the region: {resource}")


def test_lambda_add_permission_is_for_api_gateway_only():
    for statement in deploy_statements():
        if "lambda:AddPermission" in actions(statement):
            assert conditions(statement)[("StringEquals", "lambda:Principal")] == ["apigateway.amazonaws.com"]
        assert not any(a.startswith("lambda:") and "FunctionUrl" in a for a in actions(statement))


def test_the_functions_action_names_are_the_ones_the_operator_commands_read():
    # make import, verify and record read the names from these outputs; the function must count
    # the same ones, or the table's facts would be counted for other names (503 until a rebuild).
    parsed = stack(INFRA)
    (_, function), = resources(parsed, "aws_lambda_function")
    variables = attr(attr(function, "environment"), "variables")
    outputs = dict(blocks(parsed, "output"))
    for kind in ("deploy", "stage", "rollback", "commit", "hotfix"):
        source = f"${{local.delivery_actions.{kind}}}"
        assert variables[f"{kind.upper()}_ACTION"] == source
        assert attr(outputs[f"{kind}_action"], "value") == source
    # The actions it records: make import accepts the same ones.
    assert variables["ALLOWED_ACTIONS"] == "${local.allowed_actions}"
    assert attr(outputs["allowed_actions"], "value") == "${local.allowed_actions}"
    # The service of records naming none: make import gives them the function's.
    assert variables["DEFAULT_SERVICE"] == "${var.default_service}"
    assert attr(outputs["default_service"], "value") == "${var.default_service}"


def test_a_service_name_is_checked_by_the_rule_of_the_code():
    # The service-name rule, as the Rust code states it (its unit test holds the code to it).
    source = (INFRA.parent / "crates/events/src/service.rs").read_text()
    pattern = re.search(r'pub const SERVICE_PATTERN: &str = "([^"]+)";', source).group(1)
    variables = (INFRA / "variables.tf").read_text()
    assert f'can(regex("{pattern}", var.default_service))' in variables
    assert "length(var.default_service) <= 255" in variables
    script = (INFRA.parent / "scripts/stack-actions.py").read_text()
    assert f'SERVICE_PATTERN = "{pattern}"' in script


def test_the_access_log_names_the_iam_caller():
    # Who recorded an event (POST /events is IAM-signed) is in the stage's access log.
    parsed = stack(INFRA)
    (_, stage), = resources(parsed, "aws_api_gateway_stage")
    format_ = attr(attr(stage, "access_log_settings"), "format")
    assert "$context.identity.userArn" in format_


def test_the_dynamodb_errors_alarm_covers_every_operation_requests_make():
    # The README's "What each route costs" and POST's requests: GetItem, Query, BatchGetItem,
    # UpdateItem, TransactWriteItems; import adds BatchWriteItem. An operation left out is an
    # outage nobody is told about.
    (alarm,) = [body for name, body in resources(stack(INFRA), "aws_cloudwatch_metric_alarm")
                if name == "dynamodb_system_errors"]
    (summed,) = [attr(q, "expression") for q in alarm["metric_query"] if attr(q, "expression")]
    operations = attr(attr(alarm, "dynamic")["metric_query"], "for_each")
    assert set(operations) >= {"GetItem", "Query", "BatchGetItem", "UpdateItem",
                               "TransactWriteItems", "BatchWriteItem"}
    for operation in operations:
        assert f"op{operation.lower()}" in summed, operation


def test_the_function_deletes_only_ships_and_only_in_a_transaction():
    # A deploy that ships ends the ships it beats: a Delete inside TransactWriteItems, which IAM
    # authorizes as DeleteItem. Without it every such deploy is AccessDenied (a 500) in AWS, and
    # moto does not check IAM; with it unbounded, the function could delete events.
    (document,) = [b for block in stack(INFRA).get("data", [])
                   for n, b in block.get("aws_iam_policy_document", {}).items()
                   if n == "lambda_events_table"]
    deleting = [s for s in document["statement"] if "dynamodb:DeleteItem" in actions(s)]
    assert len(deleting) == 1
    (statement,) = deleting
    assert actions(statement) == ["dynamodb:DeleteItem"]
    assert conditions(statement) == {
        ("ForAllValues:StringLike", "dynamodb:LeadingKeys"): ["SVC#*#SHIPS"],
        ("ForAnyValue:StringEquals", "dynamodb:EnclosingOperation"): ["TransactWriteItems"],
    }


def test_badges_are_public_only_when_public_badges_says_so():
    # Off: no keyless route, and the function (reached with a key through {proxy+}) answers 404.
    parsed = stack(INFRA)
    gateway_resources = dict(resources(parsed, "aws_api_gateway_resource"))
    for name in ("badges", "badge"):
        assert attr(gateway_resources[name], "count") == "${var.public_badges ? 1 : 0}"
    assert attr(gateway_resources["badge"], "path_part") == "{metric}"
    (_, function), = resources(parsed, "aws_lambda_function")
    variables = attr(attr(function, "environment"), "variables")
    assert variables["BADGES_ENABLED"] == "${tostring(var.public_badges)}"
    # Only GET, without a key; with a throttle of its own.
    source = (INFRA / "api_gateway.tf").read_text()
    assert '"badge-get" => { resource_id = badge.id, http_method = "GET", api_key_required = false }' in source
    settings = dict(resources(parsed, "aws_api_gateway_method_settings"))["badge"]
    assert attr(settings, "count") == "${var.public_badges ? 1 : 0}"
    throttle = attr(settings, "settings")
    assert attr(throttle, "throttling_rate_limit") == "${var.badge_throttle_rate_limit}"
    variables_tf = dict(blocks(parsed, "variable"))
    assert attr(variables_tf["public_badges"], "default") is False

