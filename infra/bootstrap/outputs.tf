output "state_bucket" {
  description = "Put this in .env as TF_STATE_BUCKET (and in the GitHub repository variable of the same name)."
  value       = aws_s3_bucket.state.bucket
}

output "deploy_role_arn" {
  description = "Put this in the GitHub repository variable AWS_DEPLOY_ROLE_ARN; null without github_owner/github_repo."
  value       = one(aws_iam_role.deploy[*].arn)
}

output "function_permissions_boundary_arn" {
  description = "The permissions boundary every function role of the main stack carries."
  value       = aws_iam_policy.function_boundary.arn
}

output "api_gateway_cloudwatch_role_arn" {
  description = "The account's API Gateway logging role."
  value       = aws_iam_role.api_gateway_logs.arn
}
