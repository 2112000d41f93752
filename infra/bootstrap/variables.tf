variable "aws_region" {
  description = "Region of the state bucket and of the API Gateway account settings."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like eu-west-1."
  }
}

variable "project_name" {
  description = "Prefix of the resources the deploy role may manage; must match the main stack."
  type        = string
  default     = "pipeline-events-api"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.project_name))
    error_message = "project_name must be 3-41 lowercase letters, digits or dashes."
  }
}

variable "state_bucket_name" {
  description = "Name of the S3 bucket for Terraform state (globally unique)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_name))
    error_message = "state_bucket_name must be a valid S3 bucket name."
  }
}

variable "github_owner" {
  description = "Owner (user or organisation) of the GitHub repository whose workflows may deploy; null (the default) for a laptop-only set-up without the GitHub deploy role."
  type        = string
  default     = null

  validation {
    condition     = var.github_owner == null || can(regex("^[A-Za-z0-9-]+$", var.github_owner))
    error_message = "github_owner must be a GitHub user or organisation name."
  }
}

variable "github_repo" {
  description = "Name of the GitHub repository whose workflows may deploy; null together with github_owner."
  type        = string
  default     = null

  validation {
    condition     = var.github_repo == null || can(regex("^[A-Za-z0-9_.-]+$", var.github_repo))
    error_message = "github_repo must be a repository name."
  }
}

variable "environments" {
  description = "The main stack's environments (infra/envs/<name>.tfvars). Each gets a function permissions boundary of its own and, with github_owner/github_repo, a GitHub deploy role of its own, trusted only from the GitHub environment of the same name (protect those in the repository settings) and reaching only that environment's resources."
  type        = list(string)
  default     = ["dev", "prod"]

  validation {
    condition     = length(var.environments) > 0 && alltrue([for e in var.environments : can(regex("^[a-z][a-z0-9-]{1,15}$", e))])
    error_message = "environments must list environment names such as dev and prod: 2-16 lowercase letters, digits or dashes, starting with a letter (as the main stack's environment)."
  }

  # Alarm names are matched as <project>-<environment>-*: an environment named after another
  # and a dash (dev and dev-eu) would let one's role reach the other's alarms.
  validation {
    condition     = alltrue([for a in var.environments : alltrue([for b in var.environments : a == b || !startswith(b, "${a}-")])])
    error_message = "no environment name may be another's followed by a dash (dev and dev-eu): their resource names would overlap."
  }

  # IAM role names are at most 64 characters.
  validation {
    condition     = alltrue([for e in var.environments : length("${var.project_name}-github-deploy-${e}") <= 64])
    error_message = "<project_name>-github-deploy-<environment> must fit IAM's 64 characters for a role name: shorten the environment names."
  }
}

variable "github_oidc_provider" {
  description = "create: this stack creates the account's GitHub OIDC provider. existing: reuse the one the account already has (IAM allows one provider per URL)."
  type        = string
  default     = "create"

  validation {
    condition     = contains(["create", "existing"], var.github_oidc_provider)
    error_message = "github_oidc_provider must be create or existing."
  }
}
