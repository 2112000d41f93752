locals {
  name       = "${var.project_name}-${var.environment}"
  ssm_prefix = "/${var.project_name}/${var.environment}"
}
