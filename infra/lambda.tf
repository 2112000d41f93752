resource "aws_cloudwatch_log_group" "lambda" {
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days variable (30 days by default; dev 14, prod 90): these are operational logs, not an audit trail, and a year of them costs more than it tells.
  #checkov:skip=CKV_AWS_158:Logs hold request lines only (no secrets or personal data); CloudWatch encrypts them at rest with AWS-owned keys, and a CMK per environment adds cost and key-policy upkeep for no gain here.
  name              = "/aws/lambda/${local.name}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "api" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway only; a dead-letter queue applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:The function reaches only SSM, DynamoDB and CloudWatch through public AWS endpoints; a VPC would add NAT cost and cold-start latency without protecting anything.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (a parameter path, log settings); Lambda encrypts it at rest with an AWS-managed key.
  #checkov:skip=CKV_AWS_272:The package is built and deployed by this repository's CI from a pinned commit; AWS Signer code signing is not set up for this project.
  function_name = local.name
  description   = "Deployment pipeline events API (${var.environment})"
  role          = aws_iam_role.lambda.arn

  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = [var.lambda_architecture]

  filename = var.lambda_package_path
  # The package need not exist to destroy or validate; applying without it fails on `filename`.
  source_code_hash = fileexists(var.lambda_package_path) ? filebase64sha256(var.lambda_package_path) : null

  memory_size                    = var.lambda_memory_mb
  timeout                        = var.lambda_timeout_seconds
  reserved_concurrent_executions = var.lambda_reserved_concurrency

  tracing_config {
    mode = "Active"
  }

  logging_config {
    # The function writes its own JSON lines; Text keeps Lambda from wrapping them again.
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.lambda.name
  }

  environment {
    variables = {
      EVENT_STORE                = "dynamodb"
      EVENTS_TABLE               = aws_dynamodb_table.events.name
      SSM_PARAMETER_PREFIX       = local.ssm_prefix
      METADATA_CACHE_TTL_SECONDS = tostring(var.metadata_cache_ttl_seconds)
      APP_DESCRIPTION            = var.app_description
      LOG_LEVEL                  = var.log_level
      LOG_FORMAT                 = "json"
      DEPLOY_ACTION              = local.delivery_actions.deploy
      STAGE_ACTION               = local.delivery_actions.stage
      ROLLBACK_ACTION            = local.delivery_actions.rollback
      COMMIT_ACTION              = local.delivery_actions.commit
      HOTFIX_ACTION              = local.delivery_actions.hotfix
      ALLOWED_ACTIONS            = local.allowed_actions
      DEFAULT_SERVICE            = var.default_service
      BADGES_ENABLED             = tostring(var.public_badges)
      DEPLOY_ENVIRONMENTS        = join(",", var.deploy_environments)
      # The secrets' parameters, read (decrypted) by the function and cached 5 minutes.
      WEBHOOK_SECRETS_PARAMETER_PREFIX = local.webhook_secrets_prefix
    }
  }

  # The parameters are written before new code can start: a fresh instance must never cache the
  # previous deploy's commit SHA (the smoke test checks /metadata right after apply).
  depends_on = [
    aws_iam_role_policy.lambda,
    aws_iam_role_policy.lambda_events_table,
    aws_cloudwatch_log_group.lambda,
    aws_ssm_parameter.version,
    aws_ssm_parameter.commit_sha,
  ]
}
