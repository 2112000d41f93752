data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name               = "${local.name}-lambda"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  # Created by infra/bootstrap; the deploy role may only create and change roles that carry it.
  permissions_boundary = local.function_boundary_arn
}

# Exactly what the function does: read its two parameters and the webhooks' secrets, write its
# own logs and traces.
data "aws_iam_policy_document" "lambda" {
  statement {
    sid       = "ReadDeployMetadata"
    actions   = ["ssm:GetParameters"]
    resources = [aws_ssm_parameter.version.arn, aws_ssm_parameter.commit_sha.arn]
  }

  statement {
    # The parameters need not exist: a host without its secret answers 404.
    sid       = "ReadWebhookSecrets"
    actions   = ["ssm:GetParameters"]
    resources = [local.webhook_secrets_arn]
  }

  statement {
    # The account's aws/ssm key already lets every principal of the account decrypt through SSM
    # (its key policy): this statement is what a customer managed key would need, and names the
    # use rather than the key's ARN (aws/ssm exists only once a SecureString has been written).
    # Only through SSM, and only for the webhooks' parameters (SSM's encryption context names
    # each one). What limits decryption here is ssm:GetParameters' scope and the boundary.
    sid       = "DecryptWebhookSecrets"
    actions   = ["kms:Decrypt"]
    resources = ["arn:aws:kms:${var.aws_region}:${data.aws_caller_identity.current.account_id}:key/*"]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ssm.${var.aws_region}.amazonaws.com"]
    }

    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:PARAMETER_ARN"
      values   = [local.webhook_secrets_arn]
    }
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda.arn}:*"]
  }

  statement {
    # X-Ray's write actions support no resource-level permissions: "*" is the only form.
    sid       = "WriteTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "lambda" {
  name   = "${local.name}-lambda"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
}
