-- wrk script: POST /client/v1/messages round-robin over many sender -> recipient pairs, each request with a
-- unique client_id. Arguments (after --): PAIRS_FILE NONCE. PAIRS_FILE has one "token phone" per line.
-- e2ee: a line "token phone ENCRYPTED_JSON" (compact JSON, no spaces) sends that Megolm payload instead of text.
-- done() prints one line "BENCHJSON {...}" that run.py reads (latencies in microseconds).

local pairs_list = {}
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
    local token, phone, encrypted = line:match("^(%S+)%s+(%S+)%s*(%S*)$")  -- e2ee: an optional third field
    if token then
      pairs_list[#pairs_list + 1] = { "Bearer " .. token, phone, encrypted }
    end
  end
  prefix = args[2] .. "-" .. tostring(tid) .. "-"
  -- threads start at different pairs so they do not all hit the same chats at once
  idx = (tid * 7919) % #pairs_list
end

function request()
  n = n + 1
  idx = idx % #pairs_list + 1
  local pair = pairs_list[idx]
  local body = '{"to":"' .. pair[2] .. '","type":"text","text":{"body":"bench ' .. n
    .. '"},"client_id":"' .. prefix .. n .. '"}'
  if pair[3] ~= "" then  -- e2ee: a pre-encrypted Megolm payload (bench/e2ee_send.py)
    body = '{"to":"' .. pair[2] .. '","type":"encrypted","encrypted":' .. pair[3] .. ',"client_id":"' .. prefix .. n .. '"}'
  end
  return wrk.format("POST", "/client/v1/messages",
    { ["Authorization"] = pair[1], ["Content-Type"] = "application/json" }, body)
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
