environment                = "prod"
lambda_memory_mb           = 256
log_level                  = "info"
log_retention_days         = 90
metadata_cache_ttl_seconds = 300
latency_p99_threshold_ms   = 1000

# What one hour can cost at most is bounded by these (README: "Cost and limits").
# The stage, every method and caller together; the usage plan, per API key.
stage_throttle_rate_limit  = 100
stage_throttle_burst_limit = 200
throttle_rate_limit        = 100
throttle_burst_limit       = 200

# At most this many instances at once. Reserving N needs an account concurrency limit of at
# least N + 100 (Lambda keeps 100 unreserved) plus what other functions reserve, dev's
# included; new accounts often start at 10. make deploy checks the account's quota first.
lambda_reserved_concurrency = 50

# On-demand read and write request units per second, for the table and for each index. A
# large make import writes about 2 units an event to the table: raise the write cap for it,
# or let it stop at the cap and run it again (it resumes).
dynamodb_max_read_request_units  = 2000
dynamodb_max_write_request_units = 500

# The events table cannot be deleted by accident (make destroy stops on it).
dynamodb_deletion_protection = true
