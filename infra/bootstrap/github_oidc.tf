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

data "aws_iam_policy_document" "deploy_assume" {
  #checkov:skip=CKV_AWS_358:The subject is pinned with StringEquals to repo:<owner>/<repo>:environment:<name> for each listed environment; checkov cannot evaluate the for expression that builds that list.
  count = local.github_deploy ? 1 : 0

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

    # Trust is pinned to this repository's named GitHub environments; their protection rules
    # (deployment branches: main; prod: required reviewers) decide which runs may deploy.
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = [for environment in var.github_environments : "repo:${var.github_owner}/${var.github_repo}:environment:${environment}"]
    }
  }
}

resource "aws_iam_role" "deploy" {
  count = local.github_deploy ? 1 : 0

  name                 = "${var.project_name}-github-deploy"
  assume_role_policy   = data.aws_iam_policy_document.deploy_assume[0].json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "deploy" {
  #checkov:skip=CKV_AWS_290:Write actions are limited to this project's ARNs wherever the service allows it, and IAM writes to roles that carry the function permissions boundary; the '*' statements are actions with no resource-level permissions.
  #checkov:skip=CKV_AWS_355:'*' appears only for actions with no resource-level permissions (ssm:DescribeParameters, logs:DescribeLogGroups, sts:GetCallerIdentity, lambda:GetAccountSettings).
  #checkov:skip=CKV_AWS_287:No credential exposure: the only IAM actions are on the function roles (with the boundary condition) and iam:PassRole to Lambda.
  #checkov:skip=CKV_AWS_286:Privilege escalation is closed by the permissions boundary condition on every IAM write and by iam:PassedToService on PassRole.
  #checkov:skip=CKV_AWS_289:Permissions management is limited to the function roles, which must carry the function permissions boundary.
  count = local.github_deploy ? 1 : 0

  name   = "${var.project_name}-github-deploy"
  role   = aws_iam_role.deploy[0].id
  policy = data.aws_iam_policy_document.deploy.json
}

# The role and its policy were single resources before the laptop-only set-up made them optional.
moved {
  from = aws_iam_role.deploy
  to   = aws_iam_role.deploy[0]
}

moved {
  from = aws_iam_role_policy.deploy
  to   = aws_iam_role_policy.deploy[0]
}
