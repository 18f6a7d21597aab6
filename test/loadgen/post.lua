-- wrk script for the ingestion benchmark: POSTs a JSON event with a fresh
-- X-S4-ExternalID on every request (see docs/benchmarks.md).
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"Title":"CPU high on web-%d","Message":"load 12.5","X-S4-ExternalID":"wrk-%d-%d","Host":"web-%d","Severity":"high"}', n % 50, id, n, n % 50)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
