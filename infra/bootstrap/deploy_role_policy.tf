# What `make deploy` (terraform apply of infra/, then the smoke test) needs, action by action,
# limited to this project's names wherever the service allows it. Used by the GitHub deploy role;
# a laptop identity needs at least the same (README: "Permissions").
locals {
  functions      = "arn:aws:lambda:${local.region_account}:function:${var.project_name}-*"
  apigateway     = "arn:aws:apigateway:${var.aws_region}::"
  boundary_arn   = aws_iam_policy.function_boundary.arn
  project_params = "arn:aws:ssm:${local.region_account}:parameter/${var.project_name}/*"
}

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
    sid = "Function"
    actions = [
      "lambda:CreateFunction", "lambda:DeleteFunction", "lambda:GetFunction", "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:ListVersionsByFunction",
      "lambda:GetFunctionCodeSigningConfig", "lambda:GetFunctionConcurrency", "lambda:PutFunctionConcurrency",
      "lambda:DeleteFunctionConcurrency", "lambda:ListTags", "lambda:TagResource", "lambda:UntagResource",
      "lambda:GetPolicy", "lambda:RemovePermission",
    ]
    resources = [local.functions]
  }

  statement {
    # The only resource policy the stack writes: API Gateway may invoke the function. No other
    # principal, and no function URL (lambda:CreateFunctionUrlConfig is not granted).
    sid       = "FunctionInvokedByApiGatewayOnly"
    actions   = ["lambda:AddPermission"]
    resources = [local.functions]

    condition {
      test     = "StringEquals"
      variable = "lambda:Principal"
      values   = ["apigateway.amazonaws.com"]
    }
  }

  statement {
    # Creating a REST API, an API key or a usage plan (API Gateway maps CreateApiKey to PUT too).
    # Creating cannot touch what exists; everything after creation is scoped by tag below.
    sid       = "ApiGatewayCreate"
    actions   = ["apigateway:POST", "apigateway:PUT"]
    resources = ["${local.apigateway}/restapis", "${local.apigateway}/apikeys", "${local.apigateway}/usageplans"]
  }

  statement {
    # Only the project's own APIs, keys and usage plans (the provider's default_tags give them the
    # Project tag): resources, methods, integrations, deployments and stages inherit the REST
    # API's tags for access control, usage plan keys the usage plan's. Not /account, domain names
    # or VPC links, and no other API of the region.
    sid     = "ApiGatewayProjectOnly"
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
  }

  statement {
    # Tagging goes through /tags/<URL-encoded ARN>: only ARNs of REST APIs (and their stages),
    # API keys and usage plans of this region.
    sid     = "ApiGatewayTags"
    actions = ["apigateway:GET", "apigateway:PUT", "apigateway:DELETE"]
    resources = [for kind in ["restapis", "apikeys", "usageplans"] :
      "${local.apigateway}/tags/arn%3Aaws%3Aapigateway%3A${var.aws_region}%3A%3A%2F${kind}%2F*"
    ]
  }

  statement {
    sid       = "FunctionRolesRead"
    actions   = ["iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole"]
    resources = [local.function_roles]
  }

  statement {
    # Creating a function role, or changing what it may do, only when the role carries the
    # function boundary: the deploy role cannot grant more than the boundary, to anyone.
    sid       = "FunctionRolesWriteWithinBoundary"
    actions   = ["iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary"]
    resources = [local.function_roles]

    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [local.boundary_arn]
    }
  }

  statement {
    sid       = "FunctionRolesManage"
    actions   = ["iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole"]
    resources = [local.function_roles]
  }

  statement {
    sid       = "PassFunctionRolesToLambdaOnly"
    actions   = ["iam:PassRole"]
    resources = [local.function_roles]

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
    # The events table: create, change, back up, tag and (with deletion protection off) delete.
    # Item reads and writes are not granted: the pipeline's identity does not need the data.
    sid = "EventsTable"
    actions = [
      "dynamodb:CreateTable", "dynamodb:DeleteTable", "dynamodb:DescribeTable", "dynamodb:UpdateTable",
      "dynamodb:DescribeContinuousBackups", "dynamodb:UpdateContinuousBackups", "dynamodb:DescribeTimeToLive", "dynamodb:UpdateTimeToLive",
      "dynamodb:ListTagsOfResource", "dynamodb:TagResource", "dynamodb:UntagResource",
    ]
    resources = ["arn:aws:dynamodb:${local.region_account}:table/${var.project_name}-*"]
  }

  statement {
    # The main stack names whoever applies it as an event writer (data.aws_iam_session_context,
    # which reads the role for its path); the deploy then records itself: POST /events, signed.
    sid       = "ReadOwnRole"
    actions   = ["iam:GetRole"]
    resources = ["arn:aws:iam::${local.account_id}:role/${var.project_name}-github-deploy"]
  }

  statement {
    sid       = "RecordDeployEvents"
    actions   = ["execute-api:Invoke"]
    resources = ["arn:aws:execute-api:${local.region_account}:*/*/POST/events"]
  }

  statement {
    sid       = "Parameters"
    actions   = ["ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource", "ssm:ListTagsForResource"]
    resources = [local.project_params]
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
      "logs:ListTagsForResource", "logs:TagResource", "logs:UntagResource",
    ]
    resources = [
      "arn:aws:logs:${local.region_account}:log-group:/aws/lambda/${var.project_name}-*",
      "arn:aws:logs:${local.region_account}:log-group:/aws/apigateway/${var.project_name}-*",
      # API Gateway names execution log groups after the API id, not its name.
      "arn:aws:logs:${local.region_account}:log-group:API-Gateway-Execution-Logs_*",
    ]
  }

  statement {
    sid = "Monitoring"
    actions = [
      "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource",
      "cloudwatch:TagResource", "cloudwatch:UntagResource", "cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards",
    ]
    resources = [
      "arn:aws:cloudwatch:${local.region_account}:alarm:${var.project_name}-*",
      "arn:aws:cloudwatch::${local.account_id}:dashboard/${var.project_name}-*",
    ]
  }

  statement {
    sid = "AlarmTopic"
    actions = [
      "sns:CreateTopic", "sns:DeleteTopic", "sns:GetTopicAttributes", "sns:SetTopicAttributes", "sns:ListTagsForResource",
      "sns:TagResource", "sns:UntagResource", "sns:Subscribe", "sns:Unsubscribe", "sns:GetSubscriptionAttributes",
      "sns:SetSubscriptionAttributes",
    ]
    resources = ["arn:aws:sns:${local.region_account}:${var.project_name}-*"]
  }
}
