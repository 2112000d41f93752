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

# Exactly what the function does: read its two parameters, write its own logs and traces.
data "aws_iam_policy_document" "lambda" {
  statement {
    sid       = "ReadDeployMetadata"
    actions   = ["ssm:GetParameters"]
    resources = [aws_ssm_parameter.version.arn, aws_ssm_parameter.commit_sha.arn]
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
