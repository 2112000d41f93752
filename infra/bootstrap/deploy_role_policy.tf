# What `make deploy ENV=<environment>` needs (terraform apply of infra/, then the smoke test and
# the deploy's own record), action by action, for one environment: the resources the main stack
# names <project>-<environment> (infra/locals.tf), that environment's Terraform state, and the
# API Gateway resources tagged with the project and that environment. Used by the environment's
# GitHub deploy role; a laptop identity needs at least the same (README: "Permissions").
#
# Names are exact or end in a separator (":", "/", "-" after the full name), never in a bare
# wildcard after the environment: dev's patterns do not match prod's names (the environments
# variable refuses a name that is another's followed by a dash).
locals {
  apigateway = "arn:aws:apigateway:${var.aws_region}::"
  # /tags/<URL-encoded ARN> of REST APIs (and their stages), API keys and usage plans of this region.
  apigateway_tags = [for kind in ["restapis", "apikeys", "usageplans"] :
    "${local.apigateway}/tags/arn%3Aaws%3Aapigateway%3A${var.aws_region}%3A%3A%2F${kind}%2F*"
  ]
  # The tags the main stack gives everything (its provider's default_tags), which API Gateway
  # access below is scoped by.
  access_tags = ["Project", "Environment"]
}

data "aws_iam_policy_document" "deploy" {
  for_each = local.environments

  statement {
    # Listing the bucket shows key names only; objects: this environment's state and its lock
    # file (use_lockfile), which is the only object Terraform deletes.
    sid       = "TerraformStateList"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.state.arn]
  }

  statement {
    sid       = "TerraformState"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${aws_s3_bucket.state.arn}/${var.project_name}/${each.key}.tfstate"]
  }

  statement {
    sid       = "TerraformStateLock"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${aws_s3_bucket.state.arn}/${var.project_name}/${each.key}.tfstate.tflock"]
  }

  statement {
    sid = "Function"
    actions = [
      "lambda:CreateFunction", "lambda:DeleteFunction", "lambda:GetFunction", "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:ListVersionsByFunction",
      "lambda:GetFunctionCodeSigningConfig", "lambda:GetFunctionConcurrency", "lambda:PutFunctionConcurrency",
      "lambda:DeleteFunctionConcurrency", "lambda:ListTags", "lambda:GetPolicy", "lambda:RemovePermission",
    ]
    resources = [
      "arn:aws:lambda:${local.region_account}:function:${var.project_name}-${each.key}",
      "arn:aws:lambda:${local.region_account}:function:${var.project_name}-${each.key}:*",
    ]
  }

  statement {
    # The only resource policy the stack writes: API Gateway may invoke the function. No other
    # principal, and no function URL (lambda:CreateFunctionUrlConfig is not granted).
    sid     = "FunctionInvokedByApiGatewayOnly"
    actions = ["lambda:AddPermission"]
    resources = [
      "arn:aws:lambda:${local.region_account}:function:${var.project_name}-${each.key}",
      "arn:aws:lambda:${local.region_account}:function:${var.project_name}-${each.key}:*",
    ]

    condition {
      test     = "StringEquals"
      variable = "lambda:Principal"
      values   = ["apigateway.amazonaws.com"]
    }
  }

  statement {
    # Creating a REST API, an API key or a usage plan (API Gateway maps CreateApiKey to PUT too),
    # only with this project's and this environment's tags in the request (the provider's
    # default_tags send them with the create): what this role creates is reachable through the
    # tag-scoped statement below, and carries no other environment's tag.
    sid       = "ApiGatewayCreateTagged"
    actions   = ["apigateway:POST", "apigateway:PUT"]
    resources = ["${local.apigateway}/restapis", "${local.apigateway}/apikeys", "${local.apigateway}/usageplans"]

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/Project"
      values   = [var.project_name]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/Environment"
      values   = [each.key]
    }
  }

  statement {
    # REST API ARNs carry ids, not names: only the APIs, keys and usage plans tagged with this
    # project and this environment. Resources, methods, integrations, deployments and stages
    # inherit the REST API's tags for access control, usage plan keys the usage plan's. Tags a
    # request sets (a stage's) must be this environment's too. Not /account, domain names or VPC
    # links, and no other API of the region, another environment's included.
    sid     = "ApiGatewayThisEnvironmentOnly"
    actions = ["apigateway:GET", "apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE"]
    resources = [
      "${local.apigateway}/restapis/*",
      "${local.apigateway}/apikeys/*",
      "${local.apigateway}/usageplans/*",
    ]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Project"
      values   = [var.project_name]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/Environment"
      values   = [each.key]
    }

    condition {
      test     = "StringEqualsIfExists"
      variable = "aws:RequestTag/Project"
      values   = [var.project_name]
    }

    condition {
      test     = "StringEqualsIfExists"
      variable = "aws:RequestTag/Environment"
      values   = [each.key]
    }
  }

  statement {
    # The provider reads back the tags it set. A /tags/<ARN> resource carries no aws:ResourceTag
    # (Service Authorization Reference), so reads cannot be narrowed to this environment's.
    sid       = "ApiGatewayTagsRead"
    actions   = ["apigateway:GET"]
    resources = local.apigateway_tags
  }

  statement {
    # Tag changes after creation (TagResource, UntagResource). Whose resource a /tags/<ARN> names
    # cannot be checked here, so a change may never add, change or remove the Project and
    # Environment tags the statements above rely on (in any case: IAM matches tag keys without
    # regard to case): those are set only at creation, where the request's tags are checked.
    # Otherwise this role could tag another team's API, key or usage plan with the project's
    # tags and then change or delete it. A request that names no tag keys is refused too.
    sid       = "ApiGatewayTagsWriteExceptAccessTags"
    actions   = ["apigateway:PUT", "apigateway:DELETE"]
    resources = local.apigateway_tags

    condition {
      test     = "Null"
      variable = "aws:TagKeys"
      values   = ["false"]
    }

    condition {
      test     = "ForAllValues:StringNotEqualsIgnoreCase"
      variable = "aws:TagKeys"
      values   = local.access_tags
    }
  }

  statement {
    # Tagging the environment's named resources: the names already keep them this environment's,
    # and the tags written must say so too (a Project or Environment tag, if the request sets
    # one, is this project's and this environment's), so that nothing this role tags can pass
    # for another environment's.
    sid = "TagThisEnvironmentsResources"
    actions = [
      "lambda:TagResource", "lambda:UntagResource", "iam:TagRole", "iam:UntagRole",
      "dynamodb:TagResource", "dynamodb:UntagResource", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource",
      "logs:TagResource", "logs:UntagResource", "cloudwatch:TagResource", "cloudwatch:UntagResource",
      "sns:TagResource", "sns:UntagResource",
    ]
    resources = [
      "arn:aws:lambda:${local.region_account}:function:${var.project_name}-${each.key}",
      "arn:aws:iam::${local.account_id}:role/${var.project_name}-${each.key}-lambda",
      "arn:aws:dynamodb:${local.region_account}:table/${var.project_name}-${each.key}-events",
      "arn:aws:ssm:${local.region_account}:parameter/${var.project_name}/${each.key}/*",
      "arn:aws:logs:${local.region_account}:log-group:/aws/lambda/${var.project_name}-${each.key}",
      "arn:aws:logs:${local.region_account}:log-group:/aws/lambda/${var.project_name}-${each.key}:*",
      "arn:aws:logs:${local.region_account}:log-group:/aws/apigateway/${var.project_name}-${each.key}/access",
      "arn:aws:logs:${local.region_account}:log-group:/aws/apigateway/${var.project_name}-${each.key}/access:*",
      "arn:aws:logs:${local.region_account}:log-group:API-Gateway-Execution-Logs_*/${each.key}",
      "arn:aws:logs:${local.region_account}:log-group:API-Gateway-Execution-Logs_*/${each.key}:*",
      "arn:aws:cloudwatch:${local.region_account}:alarm:${var.project_name}-${each.key}-*",
      "arn:aws:sns:${local.region_account}:${var.project_name}-${each.key}-alarms",
    ]

    condition {
      test     = "StringEqualsIfExists"
      variable = "aws:RequestTag/Project"
      values   = [var.project_name]
    }

    condition {
      test     = "StringEqualsIfExists"
      variable = "aws:RequestTag/Environment"
      values   = [each.key]
    }
  }

  statement {
    sid       = "FunctionRoleRead"
    actions   = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole"]
    resources = ["arn:aws:iam::${local.account_id}:role/${var.project_name}-${each.key}-lambda"]
  }

  statement {
    # Creating the function role, or changing what it may do, only when the role carries this
    # environment's function boundary: the deploy role cannot grant more than the boundary, to
    # anyone, and never another environment's resources.
    sid       = "FunctionRoleWriteWithinBoundary"
    actions   = ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary"]
    resources = ["arn:aws:iam::${local.account_id}:role/${var.project_name}-${each.key}-lambda"]

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [aws_iam_policy.environment_boundary[each.key].arn]
    }
  }

  statement {
    sid       = "FunctionRoleManage"
    actions   = ["iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy"]
    resources = ["arn:aws:iam::${local.account_id}:role/${var.project_name}-${each.key}-lambda"]
  }

  statement {
    sid       = "PassFunctionRoleToLambdaOnly"
    actions   = ["iam:PassRole"]
    resources = ["arn:aws:iam::${local.account_id}:role/${var.project_name}-${each.key}-lambda"]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["lambda.amazonaws.com"]
    }
  }

  statement {
    sid       = "KeepTheBoundary"
    effect    = "Deny"
    actions   = ["iam:DeleteRolePermissionsBoundary", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy"]
    resources = ["*"]
  }

  statement {
    # The events table: create, change, back up and (with deletion protection off) delete.
    # Item reads and writes are not granted: the pipeline's identity does not need the data.
    sid = "EventsTable"
    actions = [
      "dynamodb:CreateTable", "dynamodb:DeleteTable", "dynamodb:DescribeTable", "dynamodb:UpdateTable",
      "dynamodb:DescribeContinuousBackups", "dynamodb:UpdateContinuousBackups", "dynamodb:DescribeTimeToLive", "dynamodb:UpdateTimeToLive",
      "dynamodb:ListTagsOfResource",
    ]
    resources = ["arn:aws:dynamodb:${local.region_account}:table/${var.project_name}-${each.key}-events"]
  }

  statement {
    # The main stack names whoever applies it as an event writer (data.aws_iam_session_context,
    # which reads the role for its path); the deploy then records itself: POST /events of this
    # environment's stage (named after it), signed.
    sid       = "ReadOwnRole"
    actions   = ["iam:GetRole"]
    resources = ["arn:aws:iam::${local.account_id}:role/${var.project_name}-github-deploy-${each.key}"]
  }

  statement {
    sid       = "RecordDeployEvents"
    actions   = ["execute-api:Invoke"]
    resources = ["arn:aws:execute-api:${local.region_account}:*/${each.key}/POST/events"]
  }

  statement {
    sid       = "Parameters"
    actions   = ["ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter", "ssm:ListTagsForResource"]
    resources = ["arn:aws:ssm:${local.region_account}:parameter/${var.project_name}/${each.key}/*"]
  }

  statement {
    # No resource-level permissions: listing parameters, log groups, the caller, the account's
    # Lambda concurrency (make deploy's reserved-concurrency check).
    sid       = "AccountWideReads"
    actions   = ["ssm:DescribeParameters", "logs:DescribeLogGroups", "sts:GetCallerIdentity", "lambda:GetAccountSettings"]
    resources = ["*"]
  }

  statement {
    sid = "LogGroups"
    actions = [
      "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy",
      "logs:ListTagsForResource",
    ]
    resources = [
      "arn:aws:logs:${local.region_account}:log-group:/aws/lambda/${var.project_name}-${each.key}",
      "arn:aws:logs:${local.region_account}:log-group:/aws/lambda/${var.project_name}-${each.key}:*",
      "arn:aws:logs:${local.region_account}:log-group:/aws/apigateway/${var.project_name}-${each.key}/access",
      "arn:aws:logs:${local.region_account}:log-group:/aws/apigateway/${var.project_name}-${each.key}/access:*",
      # API Gateway names execution log groups after the API id (not its name) and the stage,
      # which is the environment's name.
      "arn:aws:logs:${local.region_account}:log-group:API-Gateway-Execution-Logs_*/${each.key}",
      "arn:aws:logs:${local.region_account}:log-group:API-Gateway-Execution-Logs_*/${each.key}:*",
    ]
  }

  statement {
    sid = "Monitoring"
    actions = [
      "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource",
      "cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards",
    ]
    resources = [
      "arn:aws:cloudwatch:${local.region_account}:alarm:${var.project_name}-${each.key}-*",
      "arn:aws:cloudwatch::${local.account_id}:dashboard/${var.project_name}-${each.key}",
    ]
  }

  statement {
    sid = "AlarmTopic"
    actions = [
      "sns:CreateTopic", "sns:DeleteTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:ListTagsForResource",
      "sns:Subscribe", "sns:Unsubscribe", "sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes",
    ]
    resources = [
      "arn:aws:sns:${local.region_account}:${var.project_name}-${each.key}-alarms",
      # Its subscriptions (<topic ARN>:<subscription id>).
      "arn:aws:sns:${local.region_account}:${var.project_name}-${each.key}-alarms:*",
    ]
  }
}
