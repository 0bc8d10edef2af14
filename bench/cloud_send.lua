-- wrk script: POST /v23.0/{phone_number_id}/messages round-robin over many (business, person) entries,
-- alternating template and text sends as the entries file says. Arguments (after --):
-- ENTRIES_FILE TEMPLATE_NAME LANGUAGE. ENTRIES_FILE has one "token phone_number_id to kind" per line
-- (kind: text | template). done() prints one line "BENCHJSON {...}" that cloud_api.py reads (latencies in us).

local entries = {}
local n = 0
local idx = 0
local template_name = ""
local language = ""
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  for line in io.lines(args[1]) do
    local token, pnid, to, kind = line:match("^(%S+)%s+(%S+)%s+(%S+)%s+(%S+)$")
    if token then
      entries[#entries + 1] = { "Bearer " .. token, "/v23.0/" .. pnid .. "/messages", to, kind }
    end
  end
  template_name = args[2]
  language = args[3]
  idx = (tid * 7919) % #entries
end

function request()
  n = n + 1
  idx = idx % #entries + 1
  local e = entries[idx]
  local body
  if e[4] == "template" then
    body = '{"messaging_product":"whatsapp","recipient_type":"individual","to":"' .. e[3]
      .. '","type":"template","template":{"name":"' .. template_name .. '","language":{"code":"' .. language
      .. '"},"components":[{"type":"body","parameters":[{"type":"text","text":"A' .. n
      .. '"},{"type":"text","text":"Monday"}]}]}}'
  else
    body = '{"messaging_product":"whatsapp","recipient_type":"individual","to":"' .. e[3]
      .. '","type":"text","text":{"body":"bench ' .. n .. '"}}'
  end
  return wrk.format("POST", e[2], { ["Authorization"] = e[1], ["Content-Type"] = "application/json" }, body)
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
