/**
 * Lua for the location index. One script call per flush instead of a MULTI of one HSET per courier:
 * the script runs atomically like MULTI, and the client encodes one command instead of hundreds (ioredis
 * spends ~10 µs of CPU per queued command; the script costs ~4 µs per courier update, measured).
 *
 * KEYS: [stream, then per update: courier hash, new cell set, old cell set]
 * ARGV: [update count, packed points ('' for none), hash TTL in ms, then per update 11 values:
 *        kind ('M' moved | 'T' touched), courier id, server ts, max seq, lat, lng, device ts, cell, seq,
 *        cell move as this node believes it (0 none | 1 add to new | 2 old → new),
 *        duplicate window digest (field `win`, CourierTrack.windowDigest; '' leaves the stored one)]
 * The new cell set is always given for 'M'; an unused old cell key repeats the courier hash key.
 *
 * The cell set a courier is in is read from its hash (field `ck`, the set's full key), not trusted from
 * the node: a courier on two sockets or nodes, or a node with an outdated memory, leaves no ghost
 * membership. The node's idea of the old cell only serves hashes written before `ck` existed. The
 * courier is always (re)added to its cell set, so a stale member removed lazily by `nearby` comes back
 * with its next point. Every write renews the hash's TTL and every join the cell set's (location data
 * must not outlive retention).
 */
export const FLUSH_LOCATIONS_LUA = `
local n = tonumber(ARGV[1])
local ttl = ARGV[3]
for i = 0, n - 1 do
  local a = 4 + i * 11
  local k = 2 + i * 3
  local hash = KEYS[k]
  if ARGV[a] == 'M' then
    local id = ARGV[a + 1]
    local newSet = KEYS[k + 1]
    local oldSet = redis.call('HGET', hash, 'ck')
    if not oldSet and ARGV[a + 9] == '2' then oldSet = KEYS[k + 2] end
    if oldSet and oldSet ~= newSet then redis.call('SREM', oldSet, id) end
    -- A cell set expires too (its members are locations): renewed whenever someone joins it; a set that
    -- expires under live couriers is rebuilt by their next points.
    if redis.call('SADD', newSet, id) == 1 then redis.call('PEXPIRE', newSet, ttl) end
    redis.call('HSET', hash, 'lat', ARGV[a + 4], 'lng', ARGV[a + 5], 'ts', ARGV[a + 6], 'sts', ARGV[a + 2],
      'cell', ARGV[a + 7], 'seq', ARGV[a + 8], 'maxSeq', ARGV[a + 3], 'ck', newSet)
  else
    redis.call('HSET', hash, 'sts', ARGV[a + 2], 'maxSeq', ARGV[a + 3])
  end
  if ARGV[a + 10] ~= '' then redis.call('HSET', hash, 'win', ARGV[a + 10]) end
  redis.call('PEXPIRE', hash, ttl)
end
if ARGV[2] ~= '' then redis.call('XADD', KEYS[1], '*', 'p', ARGV[2]) end
return n
`;

/**
 * Removes cell-set members that no longer belong there, checked atomically against the courier's hash:
 * the hash expired, the courier is stale (last point before the cutoff), or its current cell is another one.
 * A stale courier comes back with its next point (the flush always re-adds).
 *
 * KEYS: per candidate: cell set, courier hash.  ARGV: [cutoff server ms, then per candidate: courier id, cell]
 */
export const PRUNE_CELL_MEMBERS_LUA = `
local cutoff = tonumber(ARGV[1])
local removed = 0
for i = 1, #KEYS / 2 do
  local v = redis.call('HMGET', KEYS[2 * i], 'sts', 'cell')
  if not v[1] or tonumber(v[1]) < cutoff or v[2] ~= ARGV[2 * i + 1] then
    removed = removed + redis.call('SREM', KEYS[2 * i - 1], ARGV[2 * i])
  end
end
return removed
`;
