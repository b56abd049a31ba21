-- wrk's requests for tests/bench/load.py. The scenario, the data file and the thread count
-- come from the environment; each thread takes every n-th line of the data file, formats
-- its requests once, and sends them in turn. The summary is one JSON line on stdout.

local scenario = os.getenv("BENCH_SCENARIO")
local data = os.getenv("BENCH_DATA")
local thread_count = tonumber(os.getenv("BENCH_THREADS") or "1")

local next_index = 0
function setup(thread)
  thread:set("thread_index", next_index)
  next_index = next_index + 1
end

local function fields(line)
  local out = {}
  for field in line:gmatch("%S+") do
    out[#out + 1] = field
  end
  return out
end

local function bearer(token, extra)
  local headers = { ["Authorization"] = "Bearer " .. token }
  for name, value in pairs(extra or {}) do
    headers[name] = value
  end
  return headers
end

local json = { ["Content-Type"] = "application/json" }
local merge_patch = { ["Content-Type"] = "application/merge-patch+json" }
local form = { ["Content-Type"] = "application/x-www-form-urlencoded" }

local builders = {
  login = function(row)
    local body = "grant_type=password&username=" .. row[1] .. "&password=" .. row[2]
    return wrk.format("POST", "/auth/login", form, body)
  end,
  me = function(row)
    return wrk.format("GET", "/users/me", bearer(row[1]))
  end,
  get = function(row)
    return wrk.format("GET", "/tasks/" .. row[2], bearer(row[1]))
  end,
  list = function(row)
    return wrk.format("GET", "/tasks?limit=20", bearer(row[1]))
  end,
  create = function(row)
    return wrk.format("POST", "/tasks", bearer(row[1], json),
      '{"title":"Load test task","priority":"high"}')
  end,
  update = function(row)
    return wrk.format("PUT", "/tasks/" .. row[2], bearer(row[1], json),
      '{"title":"Replaced by the load test","status":"in_progress","priority":"low"}')
  end,
  patch = function(row)
    return wrk.format("PATCH", "/tasks/" .. row[2], bearer(row[1], merge_patch),
      '{"description":"patched by the load test"}')
  end,
  delete = function(row)
    return wrk.format("DELETE", "/tasks/" .. row[2], bearer(row[1]))
  end,
}

local requests = {}
local cursor = 0

function init(args)
  local build = builders[scenario]
  if build == nil then
    error("unknown BENCH_SCENARIO " .. tostring(scenario))
  end
  local line_number = 0
  for line in io.lines(data) do
    if line_number % thread_count == thread_index then
      requests[#requests + 1] = build(fields(line))
    end
    line_number = line_number + 1
  end
  if #requests == 0 then
    error("no requests for thread " .. thread_index .. " in " .. data)
  end
end

function request()
  cursor = cursor % #requests + 1
  return requests[cursor]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
