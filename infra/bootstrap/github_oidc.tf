# GitHub Actions deploys with short-lived credentials: its OIDC token is exchanged for the deploy
# role. Without github_owner/github_repo (a laptop-only set-up) none of this is created.
locals {
  github_deploy   = var.github_owner != null && var.github_repo != null
  github_oidc_url = "https://token.actions.githubusercontent.com"
}

# IAM allows one provider per URL in an account: github_oidc_provider = "existing" reuses it.
resource "aws_iam_openid_connect_provider" "github" {
  count = local.github_deploy && var.github_oidc_provider == "create" ? 1 : 0

  url            = local.github_oidc_url
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_openid_connect_provider" "github" {
  count = local.github_deploy && var.github_oidc_provider == "existing" ? 1 : 0

  url = local.github_oidc_url
}

locals {
  # Referencing the resource (not a string ARN) orders the role after the provider.
  github_oidc_arn = one(concat(
    aws_iam_openid_connect_provider.github[*].arn,
    data.aws_iam_openid_connect_provider.github[*].arn,
  ))
}

# One role per environment, each trusted only from the GitHub environment of the same name: a job
# in dev (no reviewers, every push to main) gets credentials that reach dev and nothing of prod.
data "aws_iam_policy_document" "deploy_assume" {
  #checkov:skip=CKV_AWS_358:The subject is pinned with StringEquals to the single value repo:<owner>/<repo>:environment:<environment> of this role's environment; checkov cannot evaluate the interpolation that builds it.
  for_each = local.github_deploy ? local.environments : toset([])

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    # Only jobs that declare this GitHub environment; its protection rules (deployment branches:
    # main; prod: required reviewers) decide which runs may.
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:${var.github_owner}/${var.github_repo}:environment:${each.key}"]
    }
  }
}

# The one role every environment used to share (aws_iam_role.deploy, <project>-github-deploy) is no
# longer in the configuration: the next `make bootstrap` deletes it and its policy, after creating
# these. Its ARN is not reused, so a workflow still given the old ARN fails to assume it.
resource "aws_iam_role" "github_deploy" {
  for_each = local.github_deploy ? local.environments : toset([])

  name                 = "${var.project_name}-github-deploy-${each.key}"
  description          = "GitHub Actions deploys of ${var.project_name} to ${each.key}, from the GitHub environment ${each.key} only"
  assume_role_policy   = data.aws_iam_policy_document.deploy_assume[each.key].json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "github_deploy" {
  #checkov:skip=CKV_AWS_290:Write actions are limited to this environment's ARNs wherever the service allows it (API Gateway by Project and Environment tags), and IAM writes to roles that carry the environment's function permissions boundary; the '*' statements are actions with no resource-level permissions.
  #checkov:skip=CKV_AWS_355:'*' appears only for actions with no resource-level permissions (ssm:DescribeParameters, logs:DescribeLogGroups, sts:GetCallerIdentity, lambda:GetAccountSettings).
  #checkov:skip=CKV_AWS_287:No credential exposure: the only IAM actions are on the environment's function role (with the boundary condition) and iam:PassRole to Lambda.
  #checkov:skip=CKV_AWS_286:Privilege escalation is closed by the permissions boundary condition on every IAM write and by iam:PassedToService on PassRole.
  #checkov:skip=CKV_AWS_289:Permissions management is limited to the environment's function role, which must carry the environment's function permissions boundary.
  for_each = aws_iam_role.github_deploy

  name   = each.value.name
  role   = each.value.id
  policy = data.aws_iam_policy_document.deploy[each.key].json
}
