# Written by every deploy from the crate version and the git commit deployed; /metadata reads them.
resource "aws_ssm_parameter" "version" {
  #checkov:skip=CKV2_AWS_34:The version is public build metadata that /metadata serves; String keeps the read free of kms:Decrypt.
  name        = "${local.ssm_prefix}/version"
  description = "Version of ${local.name} deployed"
  type        = "String"
  # insecure_value: public build metadata, shown in plans; `value` would make it sensitive.
  insecure_value = var.app_version
}

resource "aws_ssm_parameter" "commit_sha" {
  #checkov:skip=CKV2_AWS_34:The commit SHA is public build metadata that /metadata serves; String keeps the read free of kms:Decrypt.
  name           = "${local.ssm_prefix}/commit_sha"
  description    = "Git commit of ${local.name} deployed"
  type           = "String"
  insecure_value = var.commit_sha
}
