# One-time, per AWS account: the Terraform state bucket, API Gateway's logging role, and the
# GitHub OIDC deploy role. Its own state stays local (infra/bootstrap/terraform.tfstate): it has to
# exist before the bucket does. Keep that file safe, or import the resources if it is lost.
terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      Project   = var.project_name
      ManagedBy = "terraform"
      Stack     = "bootstrap"
    }
  }
}
