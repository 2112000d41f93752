# GitHub Actions deploys with short-lived credentials: its OIDC token is exchanged for this role.
resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 1 : 0

  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_caller_identity" "current" {}

locals {
  account_id         = data.aws_caller_identity.current.account_id
  github_oidc_arn    = "arn:aws:iam::${local.account_id}:oidc-provider/token.actions.githubusercontent.com"
  region_account     = "${var.aws_region}:${local.account_id}"
  project_ssm_prefix = "/${var.project_name}"
}

data "aws_iam_policy_document" "deploy_assume" {
  #checkov:skip=CKV_AWS_358:The subject is pinned with StringEquals to repo:<owner>/<repo>:environment:<name> for each listed environment; checkov cannot evaluate the for expression that builds that list.
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
    # (dev: main only; prod: required reviewers) decide which runs may deploy.
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = [for environment in var.github_environments : "repo:${var.github_owner}/${var.github_repo}:environment:${environment}"]
    }
  }
}

resource "aws_iam_role" "deploy" {
  name                 = "${var.project_name}-github-deploy"
  assume_role_policy   = data.aws_iam_policy_document.deploy_assume.json
  max_session_duration = 3600
}

# What `terraform apply` of infra/ needs, limited to this project's names where the service
# allows it.
data "aws_iam_policy_document" "deploy" {
  statement {
    sid     = "TerraformState"
    actions = ["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [
      aws_s3_bucket.state.arn,
      "${aws_s3_bucket.state.arn}/${var.project_name}/*",
    ]
  }

  statement {
    sid     = "Function"
    actions = ["lambda:*"]
    resources = [
      "arn:aws:lambda:${local.region_account}:function:${var.project_name}-*",
    ]
  }

  statement {
    sid       = "ApiGateway"
    actions   = ["apigateway:GET", "apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE"]
    resources = ["arn:aws:apigateway:${var.aws_region}::/*"]
  }

  statement {
    sid = "ProjectRoles"
    actions = [
      "iam:GetRole", "iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:TagRole", "iam:UntagRole",
      "iam:GetRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:ListRolePolicies",
      "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole", "iam:PassRole",
    ]
    resources = ["arn:aws:iam::${local.account_id}:role/${var.project_name}-*"]
  }

  statement {
    sid       = "Parameters"
    actions   = ["ssm:GetParameter", "ssm:GetParameters", "ssm:PutParameter", "ssm:DeleteParameter", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource", "ssm:ListTagsForResource"]
    resources = ["arn:aws:ssm:${local.region_account}:parameter${local.project_ssm_prefix}/*"]
  }

  statement {
    # DescribeParameters has no resource-level permissions.
    sid       = "ParameterListing"
    actions   = ["ssm:DescribeParameters"]
    resources = ["*"]
  }

  statement {
    sid     = "Logs"
    actions = ["logs:*"]
    resources = [
      "arn:aws:logs:${local.region_account}:log-group:/aws/lambda/${var.project_name}-*",
      "arn:aws:logs:${local.region_account}:log-group:/aws/apigateway/${var.project_name}-*",
    ]
  }

  statement {
    # Listing log groups, starting Insights queries for `make logs`, and the log-delivery calls
    # API Gateway access logging makes have no resource-level permissions.
    sid       = "LogsAccountWide"
    actions   = ["logs:DescribeLogGroups", "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries"]
    resources = ["*"]
  }

  statement {
    sid     = "Monitoring"
    actions = ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource", "cloudwatch:TagResource", "cloudwatch:UntagResource", "cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards"]
    resources = [
      "arn:aws:cloudwatch:${local.region_account}:alarm:${var.project_name}-*",
      "arn:aws:cloudwatch::${local.account_id}:dashboard/${var.project_name}-*",
    ]
  }

  statement {
    sid       = "AlarmTopic"
    actions   = ["sns:*"]
    resources = ["arn:aws:sns:${local.region_account}:${var.project_name}-*"]
  }

  statement {
    sid       = "Identity"
    actions   = ["sts:GetCallerIdentity"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "deploy" {
  #checkov:skip=CKV_AWS_290:Write actions are limited to this project's ARNs wherever the service supports it; the '*' statements are read-only or services without resource-level permissions.
  #checkov:skip=CKV_AWS_355:'*' appears only for actions with no resource-level permissions (ssm:DescribeParameters, logs delivery, sts:GetCallerIdentity).
  name   = "${var.project_name}-github-deploy"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}
