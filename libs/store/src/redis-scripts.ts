// Lua scripts run atomically by Redis. Each touches the keys of one hash tag only (cluster-safe).

/**
 * Appends an audit entry, keeping it by age (ADR 0015). The id's milliseconds are Redis's own clock (`TIME`), or
 * the clock a test injects (nowMs ≥ 0), never lower than the stream's newest id (ids must grow). One clock for
 * every writer: a replica whose clock runs ahead could otherwise trim what others still keep. XADD MINID drops what is older than the retention, and PEXPIRE
 * drops a stream nobody appends to any more (a finished rollout's) once its newest entry is that old.
 * Used as `appendAudit(key, nowMs, retentionMs, json)` in both scripts below.
 */
const APPEND_AUDIT_FUNCTION = `
local function appendAudit(key, nowMs, retentionMs, json)
  if nowMs < 0 then
    local t = redis.call('TIME')
    nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  local ms = nowMs
  local newest = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
  if newest[1] then
    local newestMs = tonumber(string.match(newest[1][1], '^(%d+)-'))
    if newestMs > ms then ms = newestMs end
  end
  local minId = nowMs - retentionMs
  if minId < 0 then minId = 0 end
  local id = redis.call('XADD', key, 'MINID', tostring(minId), string.format('%d-*', ms), 'entry', json)
  redis.call('PEXPIRE', key, retentionMs)
  return id
end
`;

/** KEYS: stream. ARGV: now ms (-1: Redis's clock), retention ms, entry json. Returns the entry's id. */
export const APPEND_AUDIT = `${APPEND_AUDIT_FUNCTION}
return appendAudit(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3])
`;

/**
 * KEYS: docs, versions, epoch, kinds, scope audit.
 * ARGV: epoch, write count, then per write: name, has value (1/0), json, expected version ('' = any), kind;
 * then: has audit (1/0), now ms, audit retention ms, audit entry json.
 * Returns {'stale-epoch', current} | {'version-conflict', name, actual} | {'ok', name1, version1, ...}.
 */
export const TRANSITION = `${APPEND_AUDIT_FUNCTION}
local epoch = tonumber(ARGV[1])
local stored = redis.call('GET', KEYS[3]) or '0'
local current = tonumber(stored)
-- epochs are stored and returned as the digits they came as: tostring() would round one of 15+ digits
if epoch < current then return {'stale-epoch', stored} end
local n = tonumber(ARGV[2])
local staged = {}
for i = 0, n - 1 do
  local at = 3 + i * 5
  local name, hasValue, expected = ARGV[at], ARGV[at + 1], ARGV[at + 3]
  local actual = staged[name]
  -- a version without its document (the documents' hash lost alone: an eviction, a partial flush) is no document:
  -- readers do not see it, so a writer expecting it absent must not be refused for ever
  if actual == nil and redis.call('HEXISTS', KEYS[1], name) == 0 then actual = 0 end
  if actual == nil then actual = tonumber(redis.call('HGET', KEYS[2], name) or '0') end
  if expected ~= '' and tonumber(expected) ~= actual then return {'version-conflict', name, tostring(actual)} end
  if hasValue == '1' then staged[name] = actual + 1 else staged[name] = 0 end
end
local out = {'ok'}
for i = 0, n - 1 do
  local at = 3 + i * 5
  local name, hasValue, json, kind = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 4]
  local existed = redis.call('HEXISTS', KEYS[1], name) == 1
  if hasValue == '1' then
    local version = redis.call('HINCRBY', KEYS[2], name, 1)
    redis.call('HSET', KEYS[1], name, json)
    if not existed then redis.call('HINCRBY', KEYS[4], kind, 1) end
    out[#out + 1] = name
    out[#out + 1] = tostring(version)
  else
    if existed then
      redis.call('HDEL', KEYS[1], name)
      redis.call('HDEL', KEYS[2], name)
      if redis.call('HINCRBY', KEYS[4], kind, -1) <= 0 then redis.call('HDEL', KEYS[4], kind) end
    end
    out[#out + 1] = name
    out[#out + 1] = '0'
  end
end
if epoch > current then redis.call('SET', KEYS[3], ARGV[1]) end
local auditAt = 3 + n * 5
if ARGV[auditAt] == '1' then
  appendAudit(KEYS[5], tonumber(ARGV[auditAt + 1]), tonumber(ARGV[auditAt + 2]), ARGV[auditAt + 3])
end
return out
`;

/**
 * KEYS: docs, versions. ARGV: name, version, name, version, ... (what the reader holds).
 * Returns name, version, json per document of the scope; json is '' (never a JSON text) when the reader holds
 * that version already.
 */
export const READ_SCOPE_CHANGES = `
local known = {}
for i = 1, #ARGV, 2 do known[ARGV[i]] = ARGV[i + 1] end
local versions = redis.call('HGETALL', KEYS[2])
local out = {}
for i = 1, #versions, 2 do
  local name, version = versions[i], versions[i + 1]
  local json = ''
  if known[name] ~= version then json = redis.call('HGET', KEYS[1], name) end
  if json then
    out[#out + 1] = name
    out[#out + 1] = version
    out[#out + 1] = json
  end
end
return out
`;

/**
 * KEYS: holder, epoch counter. ARGV: holder, ttl ms. Takes a free lease; the epoch grows with every acquisition
 * and is never below Redis's own clock in microseconds, so after a loss of the data (counter gone) it still
 * outgrows every epoch handed out before (ADR 0025).
 */
export const ACQUIRE_LEASE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local time = redis.call('TIME')
local floor = tonumber(time[1]) * 1000000 + tonumber(time[2])
local epoch = redis.call('INCR', KEYS[2])
if epoch < floor then
  epoch = floor
  redis.call('SET', KEYS[2], string.format('%d', epoch))
end
redis.call('SET', KEYS[1], string.format('%d', epoch) .. ':' .. ARGV[1], 'NX', 'PX', ARGV[2])
return epoch
`;

/** KEYS: holder. ARGV: expected value, ttl ms. Extends only the lease this holder and epoch still hold. */
export const RENEW_LEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

/** KEYS: holder. ARGV: expected value. Releases only the lease this holder and epoch still hold. */
export const RELEASE_LEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
