output "invoke_url" {
  description = "Base URL of the API stage, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/dev"
  value       = aws_api_gateway_stage.api.invoke_url
}

output "api_key_id" {
  description = "Id of the default API key; `make api-key` prints its value."
  value       = aws_api_gateway_api_key.default.id
}

output "api_key_value" {
  description = "The default API key, sent as the x-api-key header."
  value       = aws_api_gateway_api_key.default.value
  sensitive   = true
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.api.function_name
}

output "log_group" {
  description = "The function's CloudWatch log group."
  value       = aws_cloudwatch_log_group.lambda.name
}

output "api_access_log_group" {
  description = "API Gateway's access log group."
  value       = aws_cloudwatch_log_group.api_access.name
}

output "events_table" {
  description = "The DynamoDB table of events (EVENTS_TABLE); `make import` loads a file into it."
  value       = aws_dynamodb_table.events.name
}

output "deploy_action" {
  description = "The function's DEPLOY_ACTION: what make import and make verify count as a deploy, and what make record sends in prod."
  value       = local.delivery_actions.deploy
}

output "stage_action" {
  description = "The function's STAGE_ACTION: what make import and make verify count as a stage, and what make record sends outside prod."
  value       = local.delivery_actions.stage
}

output "rollback_action" {
  description = "The function's ROLLBACK_ACTION: what make import and make verify count as a rollback."
  value       = local.delivery_actions.rollback
}

output "commit_action" {
  description = "The function's COMMIT_ACTION: what make import and make verify count as a pushed commit."
  value       = local.delivery_actions.commit
}

output "hotfix_action" {
  description = "The function's HOTFIX_ACTION: what make import and make verify count as a hotfix (a deploy, and rework)."
  value       = local.delivery_actions.hotfix
}

output "allowed_actions" {
  description = "The function's ALLOWED_ACTIONS (comma-separated): the actions make import accepts too."
  value       = local.allowed_actions
}

output "default_service" {
  description = "The function's DEFAULT_SERVICE: the service make import gives records that name none."
  value       = var.default_service
}

output "ssm_parameter_prefix" {
  description = "Where the deployed version and commit SHA are kept."
  value       = local.ssm_prefix
}

output "dashboard_name" {
  description = "The CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.api.dashboard_name
}

output "deployed_commit_sha" {
  description = "The git commit this stack last deployed (also in SSM <prefix>/commit_sha)."
  value       = aws_ssm_parameter.commit_sha.insecure_value
}

output "webhook_urls" {
  description = "The payload URLs to give GitHub and GitLab (README: Webhooks)."
  value       = { for host, resource in aws_api_gateway_resource.webhook : host => "${aws_api_gateway_stage.api.invoke_url}${resource.path}" }
}

output "webhook_secrets_prefix" {
  description = "Where make webhook-secret writes the webhooks' SecureString parameters (github-secret, gitlab-token, and their -previous during a rotation)."
  value       = local.webhook_secrets_prefix
}
