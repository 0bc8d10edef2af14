-- wrk script: encrypted person sends, POST /client/v1/messages with Megolm ciphertext made before the run.
-- Arguments (after --): BODIES_FILE NONCE. BODIES_FILE has one "token<TAB>phone<TAB>encrypted JSON" per line.
-- Each request gets a unique client_id. done() prints one "BENCHJSON {...}" line (latencies in microseconds).

local bodies = {}
local n = 0
local idx = 0
local prefix = ""
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  for line in io.lines(args[1]) do
    local token, phone, encrypted = line:match("^([^\t]+)\t([^\t]+)\t(.+)$")
    if token then
      bodies[#bodies + 1] = { "Bearer " .. token, '{"to":"' .. phone .. '","type":"encrypted","encrypted":' .. encrypted }
    end
  end
  prefix = args[2] .. "-" .. tostring(tid) .. "-"
  idx = (tid * 7919) % #bodies
end

function request()
  n = n + 1
  idx = idx % #bodies + 1
  local item = bodies[idx]
  return wrk.format("POST", "/client/v1/messages",
    { ["Authorization"] = item[1], ["Content-Type"] = "application/json" },
    item[2] .. ',"client_id":"' .. prefix .. n .. '"}')
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"duration_us":%d,"requests":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f}}\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean))
end
