data "aws_caller_identity" "current" {}

locals {
  name       = "${var.project_name}-${var.environment}"
  ssm_prefix = "/${var.project_name}/${var.environment}"
  # The webhooks' secrets: SecureString parameters under this, written by `make webhook-secret`,
  # never by Terraform (their values stay out of state and plans).
  webhook_secrets_prefix = "${local.ssm_prefix}/webhooks"
  webhook_secrets_arn    = "arn:aws:ssm:${var.aws_region}:${data.aws_caller_identity.current.account_id}:parameter${local.webhook_secrets_prefix}/*"
  # infra/bootstrap creates one per environment under this name: this environment's function role
  # can never be given another environment's resources.
  function_boundary_arn = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:policy/${var.project_name}-${var.environment}-function-boundary"
  # Each kind of delivery action a name: the defaults, then what the environment renames.
  delivery_actions = merge({ deploy = "deploy", stage = "stage", rollback = "rollback", commit = "commit", hotfix = "hotfix" }, var.delivery_actions)
  # What the function records: the list and the delivery names, which it always takes.
  allowed_actions = join(",", sort(distinct(concat(var.allowed_actions, values(local.delivery_actions)))))
}
