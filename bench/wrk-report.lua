-- wrk report script for bench/proxy.ts.
-- Prints one machine-readable line after wrk's own summary:
--   BENCH_RESULT {"requests":…,"p50_us":…,"p99_us":…,…}
-- Latencies are in microseconds; "status" counts responses with a status >= 400
-- (wrk's own "Non-2xx or 3xx responses" counter). No request()/response() hooks are
-- defined, so the script costs nothing per request.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"mean_us":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max))
end
