-- wrk script: GET an ad slot (or the baseline's path) with a varying viewer cookie and locale.
-- Arguments (after --): COOKIES_FILE PATH. COOKIES_FILE has one signed parley_viewer cookie value per line.
-- done() prints one line "BENCHJSON {...}" that bench/ads.py reads (latencies in microseconds).

local cookies = {}
local idx = 0
local path = "/ads/v1/slot"
local locales = { "pt-BR", "en-US", "es-MX", "en-IN", "de-DE", "pt-BR", "en-US", "hi-IN" }
local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then cookies[#cookies + 1] = "parley_viewer=" .. line end
  end
  path = args[2] or path
  idx = (tid * 7919) % #cookies
end

function request()
  idx = idx % #cookies + 1
  local locale = locales[idx % #locales + 1]
  return wrk.format("GET", path .. "?placement=feed-1&locale=" .. locale, { ["Cookie"] = cookies[idx] })
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
