variable "environment" {
  description = "Environment name (dev, prod, …); names the API stage, the resources and the SSM prefix."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "environment must be 2-16 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "aws_region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like eu-west-1."
  }
}

variable "project_name" {
  description = "Prefix for every resource name and the SSM parameter path."
  type        = string
  default     = "pipeline-events-api"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.project_name))
    error_message = "project_name must be 3-41 lowercase letters, digits or dashes."
  }
}

variable "lambda_package_path" {
  description = "The zip `make package` builds: one executable named bootstrap."
  type        = string
  default     = "../target/lambda/arm64/pipeline-events-api/bootstrap.zip"
}

variable "lambda_architecture" {
  description = "CPU architecture of the function; must match the package (make package ARCH=…)."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be arm64 or x86_64."
  }
}

variable "lambda_memory_mb" {
  description = "Function memory in MB (CPU scales with it)."
  type        = number
  default     = 128

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240
    error_message = "lambda_memory_mb must be between 128 and 10240."
  }
}

variable "lambda_timeout_seconds" {
  description = "Function timeout; kept well under API Gateway's 29 s integration limit."
  type        = number
  default     = 10

  validation {
    condition     = var.lambda_timeout_seconds >= 1 && var.lambda_timeout_seconds <= 25
    error_message = "lambda_timeout_seconds must be between 1 and 25."
  }
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrent executions: the most instances the function runs at once, whatever the traffic (set per environment in envs/). Reserving N needs an account limit of N + 100 at least (Lambda keeps 100 unreserved); -1 leaves the function on the account's unreserved pool, unbounded."
  type        = number
  default     = -1

  validation {
    condition     = var.lambda_reserved_concurrency == -1 || var.lambda_reserved_concurrency >= 1
    error_message = "lambda_reserved_concurrency must be -1 (unreserved) or at least 1."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of the function: error, warn, info, debug or trace."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["error", "warn", "info", "debug", "trace"], var.log_level)
    error_message = "log_level must be error, warn, info, debug or trace."
  }
}

variable "delivery_actions" {
  description = "The action names /metrics/delivery counts, by kind: deploy, stage, rollback, commit (what the webhooks record a pushed commit as) and hotfix (an unplanned deploy after an incident: a deploy, and the rework rate's rework); the function's DEPLOY_ACTION, STAGE_ACTION, ROLLBACK_ACTION, COMMIT_ACTION and HOTFIX_ACTION. A kind left out keeps its own name. make import, verify and record read them from this stack's outputs. Changing them on a table with events: make verify ENV=… REBUILD=1."
  type        = map(string)
  default     = {}
  nullable    = false

  # A map, not an object: an object type would drop a misspelt kind without a word.
  validation {
    condition     = alltrue([for kind in keys(var.delivery_actions) : contains(["deploy", "stage", "rollback", "commit", "hotfix"], kind)])
    error_message = "delivery_actions takes the kinds deploy, stage, rollback, commit and hotfix only."
  }

  validation {
    condition = alltrue([
      for name in values(var.delivery_actions) : can(regex("^[a-z][a-z0-9_-]{0,31}$", name))
    ])
    error_message = "delivery_actions names must be 1-32 characters: a lowercase letter, then lowercase letters, digits, _ or -."
  }

  validation {
    condition     = length(distinct(values(merge({ deploy = "deploy", stage = "stage", rollback = "rollback", commit = "commit", hotfix = "hotfix" }, var.delivery_actions)))) == 5
    error_message = "delivery_actions must leave five different names (a kind left out keeps its own)."
  }
}

variable "allowed_actions" {
  description = "The action names POST /events and make import accept besides the delivery_actions names (the function's ALLOWED_ACTIONS; others are refused with 422 action_not_allowed). Every day of /summaries/daily lists every action, so the list is short."
  type        = list(string)
  default     = ["stage", "deploy", "rollback", "commit", "hotfix"]
  nullable    = false

  validation {
    condition     = alltrue([for name in var.allowed_actions : can(regex("^[a-z][a-z0-9_-]{0,31}$", name))])
    error_message = "allowed_actions names must be 1-32 characters: a lowercase letter, then lowercase letters, digits, _ or -."
  }

  validation {
    condition     = length(distinct(concat(var.allowed_actions, values(merge({ deploy = "deploy", stage = "stage", rollback = "rollback", commit = "commit", hotfix = "hotfix" }, var.delivery_actions))))) <= 32
    error_message = "allowed_actions may hold at most 32 names, with the delivery_actions names."
  }
}

variable "default_service" {
  description = "The service of an event that names none (the function's DEFAULT_SERVICE): a POST /events body without service, and events stored before events had services. make import reads it from this stack's outputs."
  type        = string
  default     = "default"
  nullable    = false

  validation {
    # crates/events/src/service.rs's SERVICE_PATTERN (a test compares the two).
    condition = (
      length(var.default_service) <= 255
      && can(regex("^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*|[.][A-Za-z0-9_-][A-Za-z0-9._-]*|[.][.][A-Za-z0-9._-]+)(?:/(?:[A-Za-z0-9_-][A-Za-z0-9._-]*|[.][A-Za-z0-9_-][A-Za-z0-9._-]*|[.][.][A-Za-z0-9._-]+))*$", var.default_service))
    )
    error_message = "default_service must be 1-255 letters, digits, '.', '_' or '-' in segments joined by single '/'s, none of them '.' or '..' (such as owner/repo)."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's and the API's log groups."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, …)."
  }
}

variable "app_version" {
  description = "Version deployed (the crate version), written to SSM <prefix>/version by each deploy."
  type        = string

  validation {
    condition     = can(regex("^[0-9A-Za-z.+-]{1,64}$", var.app_version))
    error_message = "app_version must be a version string such as 0.1.0."
  }
}

variable "commit_sha" {
  description = "Git commit deployed, written to SSM <prefix>/commit_sha by each deploy."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{40}$", var.commit_sha))
    error_message = "commit_sha must be a full 40-character git commit SHA."
  }
}

variable "app_description" {
  description = "APP_DESCRIPTION of the function: `description` in /metadata."
  type        = string
  default     = "Deployment pipeline events API"
}

variable "metadata_cache_ttl_seconds" {
  description = "How long the function caches the SSM metadata."
  type        = number
  default     = 300

  validation {
    condition     = var.metadata_cache_ttl_seconds >= 0 && var.metadata_cache_ttl_seconds <= 86400
    error_message = "metadata_cache_ttl_seconds must be between 0 and 86400."
  }
}

variable "stage_throttle_rate_limit" {
  description = "The stage's steady-state requests per second, every method and caller together, keyed or not (API Gateway answers 429 above it). Bounds what callers without a key can cost."
  type        = number
  default     = 20

  validation {
    condition     = var.stage_throttle_rate_limit > 0 && var.stage_throttle_rate_limit <= 10000
    error_message = "stage_throttle_rate_limit must be above 0 and at most 10000 (API Gateway's default account limit)."
  }
}

variable "stage_throttle_burst_limit" {
  description = "The stage's burst (token bucket size), every method and caller together."
  type        = number
  default     = 40

  validation {
    condition     = var.stage_throttle_burst_limit >= 1 && var.stage_throttle_burst_limit <= 5000 && floor(var.stage_throttle_burst_limit) == var.stage_throttle_burst_limit
    error_message = "stage_throttle_burst_limit must be a whole number from 1 to 5000 (API Gateway's default account burst)."
  }
}

variable "dynamodb_max_read_request_units" {
  description = "Most read request units per second the events table, and each of its indexes, may consume (on-demand maximum throughput). Above it DynamoDB throttles and the event routes answer 503 store_unavailable: the ceiling on what reads can cost."
  type        = number
  default     = 200

  validation {
    condition     = var.dynamodb_max_read_request_units >= 1 && var.dynamodb_max_read_request_units <= 40000 && floor(var.dynamodb_max_read_request_units) == var.dynamodb_max_read_request_units
    error_message = "dynamodb_max_read_request_units must be a whole number from 1 to 40000 (DynamoDB's default per-table quota)."
  }
}

variable "dynamodb_max_write_request_units" {
  description = "Most write request units per second the events table, and each of its indexes, may consume (on-demand maximum throughput). Above it POST /events answers 503 store_unavailable and make import retries, then stops and says to run it again."
  type        = number
  default     = 100

  validation {
    condition     = var.dynamodb_max_write_request_units >= 1 && var.dynamodb_max_write_request_units <= 40000 && floor(var.dynamodb_max_write_request_units) == var.dynamodb_max_write_request_units
    error_message = "dynamodb_max_write_request_units must be a whole number from 1 to 40000 (DynamoDB's default per-table quota)."
  }
}

variable "throttle_rate_limit" {
  description = "Usage plan steady-state requests per second, per API key."
  type        = number
  default     = 50

  validation {
    condition     = var.throttle_rate_limit > 0
    error_message = "throttle_rate_limit must be positive."
  }
}

variable "throttle_burst_limit" {
  description = "Usage plan burst (token bucket size), per API key."
  type        = number
  default     = 100

  validation {
    condition     = var.throttle_burst_limit >= 1
    error_message = "throttle_burst_limit must be at least 1."
  }
}

variable "quota_limit" {
  description = "Optional usage plan quota: requests per quota_period; null for none."
  type        = number
  default     = null

  validation {
    condition     = var.quota_limit == null || try(var.quota_limit >= 1, false)
    error_message = "quota_limit must be null or at least 1."
  }
}

variable "quota_period" {
  description = "Period of quota_limit: DAY, WEEK or MONTH."
  type        = string
  default     = "MONTH"

  validation {
    condition     = contains(["DAY", "WEEK", "MONTH"], var.quota_period)
    error_message = "quota_period must be DAY, WEEK or MONTH."
  }
}

variable "alarm_email" {
  description = "Optional e-mail address subscribed to the alarm topic; null for none."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be null or an e-mail address."
  }
}

variable "latency_p99_threshold_ms" {
  description = "API Gateway p99 latency above which the latency alarm fires."
  type        = number
  default     = 1000

  validation {
    condition     = var.latency_p99_threshold_ms > 0
    error_message = "latency_p99_threshold_ms must be positive."
  }
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

variable "dynamodb_deletion_protection" {
  type        = bool
  description = "Refuse to delete the events table (turn off, apply, then destroy). On in prod."
  default     = false
}

variable "event_writer_role_arns" {
  type        = list(string)
  description = "IAM role or user ARNs (besides whoever applies this stack) allowed to call POST /events, signed with SigV4."
  default     = []

  validation {
    condition     = alltrue([for arn in var.event_writer_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/", arn))])
    error_message = "event_writer_role_arns must hold IAM role or user ARNs (arn:aws:iam::<account>:role/<name>), not assumed-role session ARNs."
  }
}

variable "deploy_environments" {
  description = "The deployment environments whose successful deployment a webhook records as a deploy (the function's DEPLOY_ENVIRONMENTS, compared without regard to case); any other environment's is a stage."
  type        = list(string)
  default     = ["production", "prod"]
  nullable    = false

  validation {
    condition     = length(var.deploy_environments) > 0 && alltrue([for name in var.deploy_environments : length(trimspace(name)) > 0 && length(name) <= 255 && !strcontains(name, ",")])
    error_message = "deploy_environments must name at least one environment, each 1-255 characters without a comma."
  }
}

variable "webhook_throttle_rate_limit" {
  description = "Requests per second POST /webhooks/github and /webhooks/gitlab each take, from every sender together (steady state); above it API Gateway answers 429 and the code host shows a failed delivery to redeliver."
  type        = number
  default     = 10

  validation {
    condition     = var.webhook_throttle_rate_limit > 0 && var.webhook_throttle_rate_limit <= 1000
    error_message = "webhook_throttle_rate_limit must be between 0 (exclusive) and 1000."
  }
}

variable "webhook_throttle_burst_limit" {
  description = "Burst of POST /webhooks/github and /webhooks/gitlab each (requests at once): a push to several branches, or a deployment's statuses, arrive together."
  type        = number
  default     = 20

  validation {
    condition     = var.webhook_throttle_burst_limit >= 1 && var.webhook_throttle_burst_limit <= 5000
    error_message = "webhook_throttle_burst_limit must be between 1 and 5000."
  }
}

variable "public_badges" {
  description = "Serve GET /badges/{metric} (SVG badges of the delivery metrics, for READMEs) without an API key. Off (the default), the stage has no such route and the function answers 404 to it. On, anyone may read any service's five delivery figures and levels over any range: no event, engineer, commit or service list."
  type        = bool
  default     = false
  nullable    = false
}

variable "badge_throttle_rate_limit" {
  description = "Requests per second GET /badges/{metric} takes from every caller together (steady state) when public_badges is on; above it API Gateway answers 429. README viewers are served from their cache (Cache-Control: 5 minutes) most of the time."
  type        = number
  default     = 5

  validation {
    condition     = var.badge_throttle_rate_limit > 0 && var.badge_throttle_rate_limit <= 1000
    error_message = "badge_throttle_rate_limit must be between 0 (exclusive) and 1000."
  }
}

variable "badge_throttle_burst_limit" {
  description = "Burst of GET /badges/{metric} (requests at once) when public_badges is on: a README shows several badges at once."
  type        = number
  default     = 10

  validation {
    condition     = var.badge_throttle_burst_limit >= 1 && var.badge_throttle_burst_limit <= 5000
    error_message = "badge_throttle_burst_limit must be between 1 and 5000."
  }
}
