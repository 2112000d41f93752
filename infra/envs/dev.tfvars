environment                = "dev"
lambda_memory_mb           = 128
log_level                  = "debug"
log_retention_days         = 14
metadata_cache_ttl_seconds = 60
latency_p99_threshold_ms   = 1500

# What one hour can cost at most is bounded by these (README: "Cost and limits").
# The stage, every method and caller together; the usage plan, per API key.
stage_throttle_rate_limit  = 20
stage_throttle_burst_limit = 40
throttle_rate_limit        = 20
throttle_burst_limit       = 40
quota_limit                = 100000
quota_period               = "MONTH"

# At most this many instances at once. Reserving N needs an account concurrency limit of at
# least N + 100 (Lambda keeps 100 unreserved) plus what other functions reserve, prod's
# included; new accounts often start at 10. make deploy checks the account's quota first.
lambda_reserved_concurrency = 5

# On-demand read and write request units per second, for the table and for each index.
dynamodb_max_read_request_units  = 200
dynamodb_max_write_request_units = 100
