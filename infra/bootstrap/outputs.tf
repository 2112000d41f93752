output "state_bucket" {
  description = "Put this in .env as TF_STATE_BUCKET (and in the GitHub repository variable of the same name)."
  value       = aws_s3_bucket.state.bucket
}

output "deploy_role_arns" {
  description = "Each environment's GitHub deploy role: put each in the variable AWS_DEPLOY_ROLE_ARN of the GitHub environment of the same name (Settings, Environments), not in a repository variable. Empty without github_owner/github_repo."
  value       = { for environment, role in aws_iam_role.github_deploy : environment => role.arn }
}

output "function_permissions_boundary_arns" {
  description = "Each environment's permissions boundary, which its function role carries."
  value       = { for environment, policy in aws_iam_policy.environment_boundary : environment => policy.arn }
}

output "api_gateway_cloudwatch_role_arn" {
  description = "The account's API Gateway logging role."
  value       = aws_iam_role.api_gateway_logs.arn
}
