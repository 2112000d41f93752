data "aws_caller_identity" "current" {}

locals {
  account_id     = data.aws_caller_identity.current.account_id
  region_account = "${var.aws_region}:${local.account_id}"
  # Names the main stack gives what it creates (infra/locals.tf: <project>-<environment>).
  function_roles = "arn:aws:iam::${local.account_id}:role/${var.project_name}-*-lambda"
}
