-- wrk script: rotates through the paths in WRK_PATHS (comma-separated; one path if unset),
-- counts 5xx answers per thread, and prints one JSON object when done. WRK_METHOD and WRK_BODY
-- (sent as application/json) turn it into a writer, e.g. POST /events.
local method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")
local headers = body and { ["Content-Type"] = "application/json" } or {}
local paths = {}
for path in string.gmatch(os.getenv("WRK_PATHS") or "", "[^,]+") do
  table.insert(paths, path)
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  server_errors = 0
end

function request()
  if #paths == 0 then
    return wrk.format(method, nil, headers, body)
  end
  counter = counter + 1
  return wrk.format(method, paths[(counter % #paths) + 1], headers, body)
end

function response(status, headers, body)
  if status >= 500 then
    server_errors = server_errors + 1
  end
end

function done(summary, latency, requests)
  local five_xx = 0
  for _, thread in ipairs(threads) do
    five_xx = five_xx + thread:get("server_errors")
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_s":%.3f,"requests_per_s":%.1f,"latency_p50_ms":%.3f,"latency_p99_ms":%.3f,'
      .. '"latency_max_ms":%.3f,"socket_errors":%d,"non_2xx_3xx":%d,"server_errors":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.connect + e.read + e.write + e.timeout, e.status, five_xx))
end
