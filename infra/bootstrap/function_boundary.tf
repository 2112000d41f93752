# The ceiling on every role the main stack creates for its functions. The deploy role may create
# and change a function role only when the role carries this boundary, so no deploy, whoever runs
# it, can give a function (or itself, through one) more than what is listed here.
data "aws_iam_policy_document" "function_boundary" {
  statement {
    sid       = "ReadDeployMetadata"
    actions   = ["ssm:GetParameters", "ssm:GetParameter"]
    resources = ["arn:aws:ssm:${local.region_account}:parameter/${var.project_name}/*"]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:aws:logs:${local.region_account}:log-group:/aws/lambda/${var.project_name}-*:*"]
  }

  statement {
    # X-Ray's write actions support no resource-level permissions.
    sid       = "WriteTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    # The event store's tables (the function's own policy grants what it uses of this).
    sid = "EventStoreItems"
    actions = [
      "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
      "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
    ]
    resources = [
      "arn:aws:dynamodb:${local.region_account}:table/${var.project_name}-*",
      "arn:aws:dynamodb:${local.region_account}:table/${var.project_name}-*/index/*",
    ]
  }
}

resource "aws_iam_policy" "function_boundary" {
  name        = "${var.project_name}-function-boundary"
  description = "Permissions boundary of ${var.project_name}'s function roles"
  policy      = data.aws_iam_policy_document.function_boundary.json
}
