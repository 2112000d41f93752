data "aws_caller_identity" "current" {}

locals {
  account_id     = data.aws_caller_identity.current.account_id
  region_account = "${var.aws_region}:${local.account_id}"
  # The main stack's environments: each gets a function permissions boundary and (for GitHub
  # Actions) a deploy role of its own, and each reaches only what the main stack names
  # <project>-<environment> (infra/locals.tf).
  environments = toset(var.environments)
}
