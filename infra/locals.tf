data "aws_caller_identity" "current" {}

locals {
  name       = "${var.project_name}-${var.environment}"
  ssm_prefix = "/${var.project_name}/${var.environment}"
  # infra/bootstrap creates it under this name.
  function_boundary_arn = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:policy/${var.project_name}-function-boundary"
  # Each kind of delivery action a name: the defaults, then what the environment renames.
  delivery_actions = merge({ deploy = "deploy", stage = "stage", rollback = "rollback" }, var.delivery_actions)
}
