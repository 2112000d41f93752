"""What one caller can cost is bounded by the stack itself, not by the account's limits: only
GET and HEAD /health and POST to the webhooks go without a key, the stage is throttled for every
method and the webhooks within it, each environment
reserves a modest concurrency, and the table and each index have capped on-demand throughput,
with alarms near the caps. Each limit comes from the environment's tfvars, through a validated
variable."""
from pathlib import Path

import hcl2
import pytest

from conftest import ROOT
from test_infra_rules import attr, blocks, resources, stack

INFRA = ROOT / "infra"
ENVS = sorted((INFRA / "envs").glob("*.tfvars"))


def tfvars(path: Path) -> dict:
    with path.open() as handle:
        return {k: attr({k: v}, k) for k, v in hcl2.load(handle).items()}


def variables():
    return dict(blocks(stack(INFRA), "variable"))


def one(rtype, name):
    (body,) = [b for n, b in resources(stack(INFRA), rtype) if n == name]
    return body


def local(name):
    (value,) = [attr(b, name) for b in stack(INFRA)["locals"] if name in b]
    return value


def test_only_health_the_dashboard_the_webhooks_and_public_badges_go_without_a_key():
    method = one("aws_api_gateway_method", "api")
    assert attr(method, "http_method") == "${each.value.http_method}"
    assert attr(method, "authorization") == "NONE"
    keyless = {(m["resource_id"], m["http_method"])
               for m in local("api_methods").values() if not m["api_key_required"]}
    health = "${aws_api_gateway_resource.health.id}"
    # A code host cannot send a key: the function verifies each delivery's signature instead.
    webhooks = {f'${{aws_api_gateway_resource.webhook["{host}"].id}}' for host in ("github", "gitlab")}
    # The dashboard page carries no data: its script asks for the key the JSON routes want.
    dashboard = "${aws_api_gateway_resource.dashboard.id}"
    assert keyless == {(health, "GET"), (health, "HEAD"), (dashboard, "GET")} | {(w, "POST") for w in webhooks}
    # The badges, only with public_badges on, only GET.
    assert local("methods").replace(" ", "") == "${merge(local.api_methods,local.badge_methods)}"
    assert "api_key_required = false" in (INFRA / "api_gateway.tf").read_text().split("badge_methods = {")[1].split("}")[0]
    assert attr(one("aws_api_gateway_resource", "badge"), "count") == "${var.public_badges ? 1 : 0}"
    assert attr(one("aws_api_gateway_resource", "webhook"), "for_each") == "${toset(['github', 'gitlab'])}"

    # The other way in without a key is POST /events, which API Gateway refuses unsigned.
    assert attr(one("aws_api_gateway_method", "record_event"), "authorization") == "AWS_IAM"


def validated(name):
    variable = variables()[name]
    assert variable.get("validation"), f"variable {name} is not validated"
    return variable


def test_the_stage_is_throttled_for_every_method_from_each_environments_tfvars():
    settings = one("aws_api_gateway_method_settings", "all")
    assert attr(settings, "method_path") == "*/*"
    inner = attr(settings, "settings")
    assert attr(inner, "throttling_rate_limit") == "${var.stage_throttle_rate_limit}"
    assert attr(inner, "throttling_burst_limit") == "${var.stage_throttle_burst_limit}"
    validated("stage_throttle_rate_limit")
    validated("stage_throttle_burst_limit")
    for path in ENVS:
        values = tfvars(path)
        assert 0 < values["stage_throttle_rate_limit"] <= 10000, path.name
        assert 1 <= values["stage_throttle_burst_limit"] <= 5000, path.name
        # A key's own limit is within the stage's: the usage plan is no wider than the stage.
        assert values["throttle_rate_limit"] <= values["stage_throttle_rate_limit"], path.name


def test_the_keyless_webhooks_have_a_throttle_of_their_own_within_the_stages():
    settings = one("aws_api_gateway_method_settings", "webhook")
    assert attr(settings, "for_each") == "${aws_api_gateway_resource.webhook}"
    assert attr(settings, "method_path") == '${"${trimprefix(each.value.path, "/")}/POST"}'
    inner = attr(settings, "settings")
    assert attr(inner, "throttling_rate_limit") == "${var.webhook_throttle_rate_limit}"
    assert attr(inner, "throttling_burst_limit") == "${var.webhook_throttle_burst_limit}"
    rate = attr(validated("webhook_throttle_rate_limit"), "default")
    burst = attr(validated("webhook_throttle_burst_limit"), "default")
    for path in ENVS:
        values = tfvars(path)
        assert values.get("webhook_throttle_rate_limit", rate) <= values["stage_throttle_rate_limit"]
        assert values.get("webhook_throttle_burst_limit", burst) <= values["stage_throttle_burst_limit"]


@pytest.mark.parametrize("path", ENVS, ids=lambda p: p.stem)
def test_each_environment_reserves_a_modest_concurrency(path):
    # Without it, a flood takes the account's whole unreserved concurrency (every other function
    # of the account throttled) and the bill with it. scripts/preflight.sh checks the account
    # has N + 100.
    assert attr(one("aws_lambda_function", "api"), "reserved_concurrent_executions") == \
        "${var.lambda_reserved_concurrency}"
    reserved = tfvars(path)["lambda_reserved_concurrency"]
    assert 1 <= reserved <= 100, f"{path.name}: lambda_reserved_concurrency = {reserved}"


def test_the_table_and_each_index_have_capped_on_demand_throughput():
    table = one("aws_dynamodb_table", "events")
    assert attr(table, "billing_mode") == "PAY_PER_REQUEST"
    expected = {"max_read_request_units": "${var.dynamodb_max_read_request_units}",
                "max_write_request_units": "${var.dynamodb_max_write_request_units}"}
    for owner in [table, *table["global_secondary_index"]]:
        cap = attr(owner, "on_demand_throughput")
        assert cap is not None, attr(owner, "name", "the table")
        assert {k: attr(cap, k) for k in expected} == expected, attr(owner, "name", "the table")
    validated("dynamodb_max_read_request_units")
    validated("dynamodb_max_write_request_units")
    for path in ENVS:
        values = tfvars(path)
        for name in expected.values():
            variable = name.removeprefix("${var.").removesuffix("}")
            assert isinstance(values.get(variable), int) and values[variable] >= 1, (path.name, variable)


def test_consumed_capacity_alarms_watch_the_table_and_each_index_near_their_caps():
    table = one("aws_dynamodb_table", "events")
    indexes = {attr(i, "name") for i in table["global_secondary_index"]}
    alarms = local("capacity_alarms")
    watched = set()
    for name, alarm in alarms.items():
        dimensions = alarm["dimensions"]
        index = None
        if dimensions != "${local.table_dimensions}":
            assert "GlobalSecondaryIndexName" in dimensions, name
            index = next(i for i in indexes if f"'GlobalSecondaryIndexName': '{i}'" in dimensions)
        metric = alarm["metric"]
        cap = {"ConsumedReadCapacityUnits": "${var.dynamodb_max_read_request_units}",
               "ConsumedWriteCapacityUnits": "${var.dynamodb_max_write_request_units}"}[metric]
        assert alarm["cap"] == cap, name
        watched.add((index, metric))
    assert watched == {(i, m) for i in [None, *indexes]
                       for m in ["ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits"]}
    resource = one("aws_cloudwatch_metric_alarm", "dynamodb_capacity")
    assert attr(resource, "for_each") == "${local.capacity_alarms}"
    assert attr(resource, "statistic") == "Sum" and attr(resource, "period") == 60
    # The Sum of a minute against the cap per second times 60, below 1: near the cap, not at it.
    assert attr(resource, "threshold") == "${local.capacity_alarm_fraction * each.value.cap * 60}"
    assert 0.5 <= local("capacity_alarm_fraction") < 1
    assert attr(resource, "alarm_actions") == ["${aws_sns_topic.alarms.arn}"]
