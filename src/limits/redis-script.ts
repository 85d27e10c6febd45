/**
 * The Redis side of the redis store: algorithms.ts in Lua, run atomically by the server for one `hit` or `peek` of
 * any number of limits. The arithmetic is the same, operation for operation (IEEE doubles on both sides), so for the
 * same `now` both stores give the same numbers; test/limits/redis-store.test.ts holds them to it.
 *
 * KEYS[i]: the counter of check i, a string "a b c" (algorithms.ts's Counter, each number as %.17g, which reads back
 * exactly), with a PX expiry from counterTtl.
 * ARGV[1]: "1" to hit, "0" to peek. ARGV[2]: now (ms since the epoch; the gateway's clock, never the server's).
 * Then five per check: algorithm ("t" token-bucket, "s" sliding-window, "c" calendar), limit, intervalMs, period
 * start, period end (0 0 when not calendar).
 * Reply: four strings per check: allowed ("1"/"0"), remaining, resetMs, retryAfterMs. Counters are written only when
 * every check allows (a refused request consumes nothing); when one refuses, the others report `unconsumed`.
 */
export const LIMITS_SCRIPT = `
local floor, ceil, max, min = math.floor, math.ceil, math.max, math.min
local fmt = string.format
local US = 1000
local hit = ARGV[1] == '1'
local now = tonumber(ARGV[2])
local n = #KEYS
local out, writes = {}, {}
local all = true

local function num(x)
  if x == 0 then return '0' end
  return fmt('%.17g', x)
end

for i = 1, n do
  local o = 2 + (i - 1) * 5
  local alg, limit, interval = ARGV[o + 1], tonumber(ARGV[o + 2]), tonumber(ARGV[o + 3])
  local raw = redis.call('GET', KEYS[i])
  local ca, cb, cc
  if raw then
    local a, b, c = string.match(raw, '^(%S+) (%S+) (%S+)$')
    ca, cb, cc = tonumber(a), tonumber(b), tonumber(c)
  end
  local allowed, remaining, reset, retry, na, nb, nc, ttl
  if alg == 't' then
    local t = max(1, floor(interval * US + 0.5))
    local tau = limit * t
    local nowUs = floor(now * US + 0.5)
    local tat = nowUs
    if ca and ca > nowUs then tat = ca end
    local newTat = tat + t
    local ahead = newTat - nowUs
    if ahead <= tau then
      allowed, remaining, reset, retry = true, floor((tau - ahead) / t), ceil(ahead / US), 0
      na, nb, nc = newTat, 0, 0
      ttl = max(1, ceil(newTat / US - now))
    else
      allowed, remaining = false, max(0, floor((tau - (tat - nowUs)) / t))
      reset, retry = ceil((tat - nowUs) / US), ceil((ahead - tau) / US)
    end
  elseif alg == 's' then
    local w = interval
    local start = floor(now / w) * w
    local curr, prev = 0, 0
    if ca then
      if ca == start then curr, prev = cb, cc
      elseif ca == start - w then prev = cb end
    end
    local toEnd = w - (now - start)
    local room = limit * w - (prev * toEnd + curr * w) - w
    if room >= 0 then
      allowed, remaining, reset, retry = true, floor(room / w), toEnd, 0
      na, nb, nc = start, curr + 1, prev
      ttl = max(1, start + 2 * w - now)
    else
      local wait
      if curr + 1 <= limit and prev > 0 then
        wait = ceil((toEnd * prev - w * (limit - curr - 1)) / prev)
      else
        wait = toEnd
        if curr > 0 then wait = toEnd + max(0, ceil((w * curr - w * (limit - 1)) / curr)) end
      end
      allowed, remaining, reset, retry = false, 0, toEnd, max(1, wait)
    end
  else
    local ps, pe = tonumber(ARGV[o + 4]), tonumber(ARGV[o + 5])
    local count = 0
    if ca and ca == ps then count = cb end
    reset = max(0, pe - now)
    if count + 1 <= limit then
      allowed, remaining, retry = true, limit - count - 1, 0
      na, nb, nc = ps, count + 1, 0
      ttl = max(1, pe - now)
    else
      allowed, remaining, retry = false, 0, max(1, reset)
    end
  end
  if not allowed then all = false end
  out[4 * i - 3] = allowed and '1' or '0'
  out[4 * i - 2] = remaining
  out[4 * i - 1] = num(reset)
  out[4 * i] = num(retry)
  if allowed then writes[i] = { num(na) .. ' ' .. num(nb) .. ' ' .. num(nc), fmt('%.0f', ceil(ttl)) } end
end

for i = 1, n do
  local r = out[4 * i - 2]
  if out[4 * i - 3] == '1' and not (hit and all) then r = min(tonumber(ARGV[2 + (i - 1) * 5 + 2]), r + 1) end
  out[4 * i - 2] = num(r)
end

if hit and all then
  for i = 1, n do redis.call('SET', KEYS[i], writes[i][1], 'PX', writes[i][2]) end
end
return out
`;
