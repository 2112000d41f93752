resource "aws_api_gateway_rest_api" "api" {
  name        = local.name
  description = "Deployment pipeline events API (${var.environment})"

  # API keys come in the x-api-key header.
  api_key_source = "HEADER"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  lifecycle {
    create_before_destroy = true
  }
}

# Every path goes to the function, which answers 404/405 itself. `/health` has its own resource
# so that it alone can be called without an API key (uptime checks, load balancers), and only
# with GET and HEAD: any other method of it is refused by API Gateway (403) before it reaches
# the function, so a caller without a key can invoke nothing but the health check.
resource "aws_api_gateway_resource" "proxy" {
  rest_api_id = aws_api_gateway_rest_api.api.id
  parent_id   = aws_api_gateway_rest_api.api.root_resource_id
  path_part   = "{proxy+}"
}

# `/events` has a method of its own for POST (IAM-signed); every other method of it goes to the
# function with an API key, as `{proxy+}` does for the other paths.
resource "aws_api_gateway_resource" "events" {
  rest_api_id = aws_api_gateway_rest_api.api.id
  parent_id   = aws_api_gateway_rest_api.api.root_resource_id
  path_part   = "events"
}

resource "aws_api_gateway_resource" "health" {
  rest_api_id = aws_api_gateway_rest_api.api.id
  parent_id   = aws_api_gateway_rest_api.api.root_resource_id
  path_part   = "health"
}

# The webhooks: a code host cannot send an API key, so `POST /webhooks/github` and `/gitlab` go
# to the function without one, which refuses any delivery not signed with the host's secret (or
# carrying its token) before it reads the payload. Only POST: any other method of these paths
# is refused by API Gateway (403). Their own throttle is below.
resource "aws_api_gateway_resource" "webhooks" {
  rest_api_id = aws_api_gateway_rest_api.api.id
  parent_id   = aws_api_gateway_rest_api.api.root_resource_id
  path_part   = "webhooks"
}

resource "aws_api_gateway_resource" "webhook" {
  for_each = toset(["github", "gitlab"])

  rest_api_id = aws_api_gateway_rest_api.api.id
  parent_id   = aws_api_gateway_resource.webhooks.id
  path_part   = each.key
}

# The dashboard page carries no data (its script asks for the API key and calls the keyed JSON
# routes), so `GET /dashboard` goes to the function without a key, as `/health` does.
resource "aws_api_gateway_resource" "dashboard" {
  rest_api_id = aws_api_gateway_rest_api.api.id
  parent_id   = aws_api_gateway_rest_api.api.root_resource_id
  path_part   = "dashboard"
}

# The badges, with public_badges on: a README's viewer sends no key, so `GET /badges/{metric}`
# goes to the function without one. Only GET; its own throttle is below. Off, there is no such
# route: a keyed request reaches the function through `{proxy+}`, which answers 404.
resource "aws_api_gateway_resource" "badges" {
  count = var.public_badges ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.api.id
  parent_id   = aws_api_gateway_rest_api.api.root_resource_id
  path_part   = "badges"
}

resource "aws_api_gateway_resource" "badge" {
  count = var.public_badges ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.api.id
  parent_id   = aws_api_gateway_resource.badges[0].id
  path_part   = "{metric}"
}

locals {
  badge_methods = {
    for badge in aws_api_gateway_resource.badge :
    "badge-get" => { resource_id = badge.id, http_method = "GET", api_key_required = false }
  }

  # method => resource, HTTP method, whether an API key is required. Only GET and HEAD /health,
  # GET /dashboard, POST to the webhooks and, with public_badges on, GET /badges/{metric} go
  # without a key.
  api_methods = {
    root           = { resource_id = aws_api_gateway_rest_api.api.root_resource_id, http_method = "ANY", api_key_required = true }
    proxy          = { resource_id = aws_api_gateway_resource.proxy.id, http_method = "ANY", api_key_required = true }
    events         = { resource_id = aws_api_gateway_resource.events.id, http_method = "ANY", api_key_required = true }
    health-get     = { resource_id = aws_api_gateway_resource.health.id, http_method = "GET", api_key_required = false }
    health-head    = { resource_id = aws_api_gateway_resource.health.id, http_method = "HEAD", api_key_required = false }
    dashboard-get  = { resource_id = aws_api_gateway_resource.dashboard.id, http_method = "GET", api_key_required = false }
    webhook-github = { resource_id = aws_api_gateway_resource.webhook["github"].id, http_method = "POST", api_key_required = false }
    webhook-gitlab = { resource_id = aws_api_gateway_resource.webhook["gitlab"].id, http_method = "POST", api_key_required = false }
  }
  methods = merge(local.api_methods, local.badge_methods)
}

resource "aws_api_gateway_method" "api" {
  #checkov:skip=CKV_AWS_59:Only GET and HEAD /health, GET /dashboard, POST /webhooks/github and /gitlab and, when public_badges is on, GET /badges/{metric} are open, by design: uptime checks must reach the health check without a key, the dashboard is a page without data that asks its reader for the key, a code host cannot send one (the function verifies each delivery's HMAC signature or token before reading it), nor can a README's viewer (a badge shows aggregate figures only); the stage throttle bounds the health check, and the webhooks and badges have throttles of their own. Every other method requires an API key or a SigV4 signature.
  #checkov:skip=CKV2_AWS_53:The function validates every query parameter, path segment and body itself (POST /events: fields, sizes, content type) and answers 4xx JSON errors with stable codes.
  for_each = local.methods

  rest_api_id      = aws_api_gateway_rest_api.api.id
  resource_id      = each.value.resource_id
  http_method      = each.value.http_method
  authorization    = "NONE"
  api_key_required = each.value.api_key_required
}

resource "aws_api_gateway_integration" "api" {
  for_each = local.methods

  rest_api_id             = aws_api_gateway_rest_api.api.id
  resource_id             = each.value.resource_id
  http_method             = aws_api_gateway_method.api[each.key].http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = aws_lambda_function.api.invoke_arn
}

# POST /events: the gateway checks the SigV4 signature and puts the caller in the request
# context (the function refuses a POST without one); the API's resource policy below limits
# callers to the named writers.
resource "aws_api_gateway_method" "record_event" {
  #checkov:skip=CKV2_AWS_53:The function validates the body field by field with stable error codes (tested with 70 malformed bodies); a gateway model would be a second, drifting copy of those rules.
  rest_api_id      = aws_api_gateway_rest_api.api.id
  resource_id      = aws_api_gateway_resource.events.id
  http_method      = "POST"
  authorization    = "AWS_IAM"
  api_key_required = false
}

resource "aws_api_gateway_integration" "record_event" {
  rest_api_id             = aws_api_gateway_rest_api.api.id
  resource_id             = aws_api_gateway_resource.events.id
  http_method             = aws_api_gateway_method.record_event.http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = aws_lambda_function.api.invoke_arn
}

# The principal applying this stack (the GitHub deploy role in CI, your own on a laptop), as an
# IAM ARN: aws:PrincipalArn names the role, not the session. Reading a role's path needs
# iam:GetRole on it.
data "aws_iam_session_context" "deployer" {
  arn = data.aws_caller_identity.current.arn
}

locals {
  event_writers = distinct(concat([data.aws_iam_session_context.deployer.issuer_arn], var.event_writer_role_arns))
}

# Anyone may invoke the API (the read methods are guarded by API keys); POST /events only the
# writers. An explicit deny wins over any allow, in this account or another.
data "aws_iam_policy_document" "api_access" {
  statement {
    sid       = "InvokeWithApiKeyOrIam"
    actions   = ["execute-api:Invoke"]
    resources = ["${aws_api_gateway_rest_api.api.execution_arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }

  statement {
    sid       = "RecordEventsOnlyNamedWriters"
    effect    = "Deny"
    actions   = ["execute-api:Invoke"]
    resources = ["${aws_api_gateway_rest_api.api.execution_arn}/*/POST/events"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "StringNotEquals"
      variable = "aws:PrincipalArn"
      values   = local.event_writers
    }
  }
}

resource "aws_api_gateway_rest_api_policy" "api" {
  rest_api_id = aws_api_gateway_rest_api.api.id
  policy      = data.aws_iam_policy_document.api_access.json
}

resource "aws_api_gateway_deployment" "api" {
  rest_api_id = aws_api_gateway_rest_api.api.id

  # A new deployment whenever the routing changes.
  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_resource.proxy,
      aws_api_gateway_resource.events,
      aws_api_gateway_resource.health,
      aws_api_gateway_resource.dashboard,
      aws_api_gateway_resource.webhooks,
      aws_api_gateway_resource.webhook,
      aws_api_gateway_resource.badges,
      aws_api_gateway_resource.badge,
      aws_api_gateway_method.api,
      aws_api_gateway_integration.api,
      aws_api_gateway_method.record_event,
      aws_api_gateway_integration.record_event,
      # A resource policy takes effect with the next deployment.
      aws_api_gateway_rest_api_policy.api.policy,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "api_access" {
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (30 days by default; dev 14, prod 90): operational logs, not an audit trail.
  #checkov:skip=CKV_AWS_158:Access logs hold request metadata only; CloudWatch encrypts them at rest with AWS-owned keys.
  name              = "/aws/apigateway/${local.name}/access"
  retention_in_days = var.log_retention_days
}

resource "aws_api_gateway_stage" "api" {
  #checkov:skip=CKV_AWS_120:Responses are computed in microseconds from memory, and /metadata must reflect a deploy at once; a cache would add cost and staleness.
  #checkov:skip=CKV2_AWS_51:Clients are people and pipelines with API keys, not mutual-TLS peers; client certificates would only matter for a private backend.
  #checkov:skip=CKV2_AWS_29:The stage's own throttle (every method), usage-plan throttling per key, reserved concurrency and the table's capped throughput bound abuse and its cost; a WAF web ACL costs more per month than this API and can be attached when it faces the open internet at scale.
  rest_api_id          = aws_api_gateway_rest_api.api.id
  deployment_id        = aws_api_gateway_deployment.api.id
  stage_name           = var.environment
  xray_tracing_enabled = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      extendedRequestId  = "$context.extendedRequestId"
      requestTime        = "$context.requestTime"
      httpMethod         = "$context.httpMethod"
      path               = "$context.path"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      responseLatency    = "$context.responseLatency"
      integrationLatency = "$context.integrationLatency"
      integrationStatus  = "$context.integration.status"
      sourceIp           = "$context.identity.sourceIp"
      userAgent          = "$context.identity.userAgent"
      apiKeyId           = "$context.identity.apiKeyId"
      userArn            = "$context.identity.userArn"
      errorMessage       = "$context.error.message"
      xrayTraceId        = "$context.xrayTraceId"
    })
  }
}

# API Gateway writes execution logs to a group it names after the API id and stage, and creates it
# with no expiry if it does not exist: made here first, it has the stack's retention and goes
# with the stack.
resource "aws_cloudwatch_log_group" "api_execution" {
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (30 days by default; dev 14, prod 90): ERROR-level execution logs, not an audit trail.
  #checkov:skip=CKV_AWS_158:Execution logs at ERROR level hold request ids and error messages only; CloudWatch encrypts them at rest with AWS-owned keys.
  name              = "API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.api.id}/${aws_api_gateway_stage.api.stage_name}"
  retention_in_days = var.log_retention_days
}

# Execution logging needs the account's API Gateway CloudWatch role, which infra/bootstrap sets.
# The throttle is the stage's own, for every method and every caller together, keyed or not (the
# usage plan adds a limit per key): without it, callers without a key (/health) or with one could
# drive the function at the account's API Gateway limit. Over it, API Gateway answers 429.
resource "aws_api_gateway_method_settings" "all" {
  #checkov:skip=CKV_AWS_225:Caching is off on purpose (see the stage): answers come from memory in microseconds and /metadata must show a deploy at once.
  rest_api_id = aws_api_gateway_rest_api.api.id
  stage_name  = aws_api_gateway_stage.api.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    logging_level          = "ERROR"
    data_trace_enabled     = false
    caching_enabled        = false
    throttling_rate_limit  = var.stage_throttle_rate_limit
    throttling_burst_limit = var.stage_throttle_burst_limit
  }

  depends_on = [aws_cloudwatch_log_group.api_execution]
}

# The webhooks' own throttle, per route and for every sender together (no key, so no usage
# plan): a stranger can make the function verify a signature, never more than this often.
resource "aws_api_gateway_method_settings" "webhook" {
  #checkov:skip=CKV_AWS_225:Caching is off on purpose: every delivery is a write.
  for_each = aws_api_gateway_resource.webhook

  rest_api_id = aws_api_gateway_rest_api.api.id
  stage_name  = aws_api_gateway_stage.api.stage_name
  method_path = "${trimprefix(each.value.path, "/")}/POST"

  settings {
    metrics_enabled        = true
    logging_level          = "ERROR"
    data_trace_enabled     = false
    caching_enabled        = false
    throttling_rate_limit  = var.webhook_throttle_rate_limit
    throttling_burst_limit = var.webhook_throttle_burst_limit
  }

  depends_on = [aws_cloudwatch_log_group.api_execution]
}

# The badges' own throttle, for every caller together (no key, so no usage plan).
resource "aws_api_gateway_method_settings" "badge" {
  #checkov:skip=CKV_AWS_225:Caching is off on purpose: the badge's Cache-Control lets each viewer cache it, and the stage has no cache cluster.
  count = var.public_badges ? 1 : 0

  rest_api_id = aws_api_gateway_rest_api.api.id
  stage_name  = aws_api_gateway_stage.api.stage_name
  method_path = "${trimprefix(aws_api_gateway_resource.badge[0].path, "/")}/GET"

  settings {
    metrics_enabled        = true
    logging_level          = "ERROR"
    data_trace_enabled     = false
    caching_enabled        = false
    throttling_rate_limit  = var.badge_throttle_rate_limit
    throttling_burst_limit = var.badge_throttle_burst_limit
  }

  depends_on = [aws_cloudwatch_log_group.api_execution]
}

resource "aws_api_gateway_api_key" "default" {
  name        = "${local.name}-default"
  description = "Default key for ${local.name}"
}

resource "aws_api_gateway_usage_plan" "default" {
  name        = "${local.name}-default"
  description = "Throttling${var.quota_limit == null ? "" : " and quota"} for ${local.name}"

  api_stages {
    api_id = aws_api_gateway_rest_api.api.id
    stage  = aws_api_gateway_stage.api.stage_name
  }

  throttle_settings {
    rate_limit  = var.throttle_rate_limit
    burst_limit = var.throttle_burst_limit
  }

  dynamic "quota_settings" {
    for_each = var.quota_limit == null ? [] : [var.quota_limit]

    content {
      limit  = quota_settings.value
      period = var.quota_period
    }
  }
}

resource "aws_api_gateway_usage_plan_key" "default" {
  key_id        = aws_api_gateway_api_key.default.id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.default.id
}

# Only this API's stage may invoke the function.
resource "aws_lambda_permission" "api_gateway" {
  statement_id  = "AllowInvokeFromApiGateway"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.api.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.api.execution_arn}/${aws_api_gateway_stage.api.stage_name}/*/*"
}
