# The ceiling on every role the main stack creates for its functions, one per environment. The
# deploy role may create and change a function role only when the role carries its
# environment's boundary, so no deploy, whoever runs it, can give a function (or itself, through
# one) more than what is listed here: and a dev function can never be given prod's table, logs or
# parameters, even by a dev deploy that rewrites its code and its role's policy.
data "aws_iam_policy_document" "function_boundary" {
  for_each = local.environments

  statement {
    sid       = "ReadDeployMetadata"
    actions   = ["ssm:GetParameters", "ssm:GetParameter"]
    resources = ["arn:aws:ssm:${local.region_account}:parameter/${var.project_name}/${each.key}/*"]
  }

  statement {
    # The webhooks' SecureStrings, decrypted through SSM only, and only this environment's.
    sid       = "DecryptWebhookSecrets"
    actions   = ["kms:Decrypt"]
    resources = ["arn:aws:kms:${local.region_account}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ssm.${var.aws_region}.amazonaws.com"]
    }

    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:PARAMETER_ARN"
      values   = ["arn:aws:ssm:${local.region_account}:parameter/${var.project_name}/${each.key}/webhooks/*"]
    }
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:aws:logs:${local.region_account}:log-group:/aws/lambda/${var.project_name}-${each.key}:*"]
  }

  statement {
    # X-Ray's write actions support no resource-level permissions.
    sid       = "WriteTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    # The environment's event store table (the function's own policy grants what it uses of this).
    sid = "EventStoreItems"
    actions = [
      "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem",
      "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem",
    ]
    resources = [
      "arn:aws:dynamodb:${local.region_account}:table/${var.project_name}-${each.key}-events",
      "arn:aws:dynamodb:${local.region_account}:table/${var.project_name}-${each.key}-events/index/*",
    ]
  }
}

resource "aws_iam_policy" "environment_boundary" {
  for_each = local.environments

  name        = "${var.project_name}-${each.key}-function-boundary"
  description = "Permissions boundary of ${var.project_name}'s ${each.key} function roles"
  policy      = data.aws_iam_policy_document.function_boundary[each.key].json
}

# The boundary every environment shared until each had its own. It stays attached to each
# environment's function role until that environment's next deploy moves the role to its own
# boundary, and IAM refuses to delete a policy in use: so Terraform forgets it here instead of
# deleting it. Delete it by hand once every environment has deployed (README: "From GitHub
# Actions", moving to one role per environment).
removed {
  from = aws_iam_policy.function_boundary

  lifecycle {
    destroy = false
  }
}
