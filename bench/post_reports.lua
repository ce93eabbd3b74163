-- wrk script: POST simulated reports, each with its own Idempotency-Key.
-- Reads bodies from $ACCORD_BENCH_BODIES (one JSON report per line) and the key from $ACCORD_BENCH_KEY.
local bodies = {}
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  thread_id = id
  for line in io.lines(os.getenv("ACCORD_BENCH_BODIES")) do
    bodies[#bodies + 1] = line
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("ACCORD_BENCH_KEY")
end

function request()
  counter = counter + 1
  -- threads take interleaved lines, so no two requests share a body or a key
  local n = (counter - 1) * #threads + thread_id + 1
  local body = bodies[((n - 1) % #bodies) + 1]
  wrk.headers["Idempotency-Key"] = "wrk-" .. thread_id .. "-" .. counter
  return wrk.format(nil, "/v1/reports", nil, body)
end

local errors = 0
function response(status, headers, body)
  if status ~= 201 and status ~= 200 then errors = errors + 1 end
end
