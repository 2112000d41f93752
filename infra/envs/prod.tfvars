environment                = "prod"
lambda_memory_mb           = 256
log_level                  = "info"
log_retention_days         = 90
metadata_cache_ttl_seconds = 300
throttle_rate_limit        = 100
throttle_burst_limit       = 200
latency_p99_threshold_ms   = 1000

# Reserved concurrency is opt-in: reserving N needs an account concurrency limit of at least
# N + 100 (Lambda keeps 100 unreserved), and new accounts often start at 10. make deploy checks the
# account's quota first. To reserve, e.g.: lambda_reserved_concurrency = 50
lambda_reserved_concurrency = -1

# The events table cannot be deleted by accident (make destroy stops on it).
dynamodb_deletion_protection = true
