output "state_bucket" {
  description = "Put this in .env as TF_STATE_BUCKET (and in the GitHub repository variable of the same name)."
  value       = aws_s3_bucket.state.bucket
}

output "deploy_role_arn" {
  description = "Put this in the GitHub repository variable AWS_DEPLOY_ROLE_ARN."
  value       = aws_iam_role.deploy.arn
}

output "api_gateway_cloudwatch_role_arn" {
  description = "The account's API Gateway logging role."
  value       = aws_iam_role.api_gateway_logs.arn
}
