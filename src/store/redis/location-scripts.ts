/**
 * Lua for the location index. One script call per flush instead of a MULTI of one HSET per courier:
 * the script runs atomically like MULTI, and the client encodes one command instead of hundreds.
 * The per-courier values travel as ONE JSON argument (decoded with cjson in the script) instead of 11
 * arguments per courier: ioredis encodes each argument separately (type check, byte length, copy) and
 * Redis allocates a Lua string per argument, so a flush of a few hundred couriers cost thousands of
 * argument encodings on both sides; one JSON.stringify and one cjson.decode cost a fraction of that.
 *
 * KEYS: [the history streams written to (one per packed batch in ARGV, possibly none), then per update:
 *        courier hash; for 'M' also the new cell set; for a cell move the node believes in (move 2) also
 *        the old cell set]. Keys stay declared (ioredis applies the key prefix).
 * ARGV: [JSON array of updates, hash TTL in ms, then per stream in KEYS its packed points]. One update is
 *        ['M', courier id, server ts, max seq, lat, lng, device ts, cell, seq, move, window] or
 *        ['T', courier id, server ts, max seq, window]; numbers travel as strings (Redis converts a Lua
 *        number argument with %.17g, which would garble coordinates); move: 0 none | 1 add to new |
 *        2 old → new, as this node believes it; window: the duplicate window digest (field `win`,
 *        CourierTrack.windowDigest; '' leaves the stored one).
 *
 * Redis work per courier: HGET ck, SADD (+ PEXPIRE when the set gained it, + SREM on a move), one HSET of
 * every field (window included) and the hash's PEXPIRE: the hash and one or two cell sets.
 *
 * The cell set a courier is in is read from its hash (field `ck`, the set's full key), not trusted from
 * the node: a courier on two sockets or nodes, or a node with an outdated memory, leaves no ghost
 * membership. The node's idea of the old cell only serves hashes written before `ck` existed. The
 * courier is always (re)added to its cell set, so a stale member removed lazily by `nearby` comes back
 * with its next point. Every write renews the hash's TTL and every join the cell set's (location data
 * must not outlive retention).
 */
export const FLUSH_LOCATIONS_LUA = `
local updates = cjson.decode(ARGV[1])
local ttl = ARGV[2]
local streams = #ARGV - 2
local k = streams + 1
for i = 1, #updates do
  local u = updates[i]
  local hash = KEYS[k]
  local id = u[2]
  if u[1] == 'M' then
    local newSet = KEYS[k + 1]
    local move = u[10]
    local oldSet = redis.call('HGET', hash, 'ck')
    if not oldSet and move == '2' then oldSet = KEYS[k + 2] end
    if oldSet and oldSet ~= newSet then redis.call('SREM', oldSet, id) end
    -- A cell set expires too (its members are locations): renewed whenever someone joins it; a set that
    -- expires under live couriers is rebuilt by their next points.
    if redis.call('SADD', newSet, id) == 1 then redis.call('PEXPIRE', newSet, ttl) end
    if u[11] ~= '' then
      redis.call('HSET', hash, 'lat', u[5], 'lng', u[6], 'ts', u[7], 'sts', u[3], 'cell', u[8], 'seq', u[9],
        'maxSeq', u[4], 'ck', newSet, 'win', u[11])
    else
      redis.call('HSET', hash, 'lat', u[5], 'lng', u[6], 'ts', u[7], 'sts', u[3], 'cell', u[8], 'seq', u[9],
        'maxSeq', u[4], 'ck', newSet)
    end
    if move == '2' then k = k + 3 else k = k + 2 end
  else
    if u[5] ~= '' then
      redis.call('HSET', hash, 'sts', u[3], 'maxSeq', u[4], 'win', u[5])
    else
      redis.call('HSET', hash, 'sts', u[3], 'maxSeq', u[4])
    end
    k = k + 1
  end
  redis.call('PEXPIRE', hash, ttl)
end
for i = 1, streams do redis.call('XADD', KEYS[i], '*', 'p', ARGV[i + 2]) end
return #updates
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

/*
 * Redis Cluster: a script may only touch keys of one hash slot, and a courier's hash (no tag: its own
 * slot) and its cell sets (tagged with their zone) lie in different slots. There a flush runs as three
 * batches, each auto-pipelined into one pipeline per node touched (LocationIndex.writeSharded):
 *   1. XADD of the batch's points to their history streams, one per stream touched (first: a point whose
 *      hash write then fails is retried by the client and stored once, Postgres ignoring the repeat; the
 *      other order could ack-then-lose);
 *   2. per courier, UPDATE_COURIER_LUA on its hash (returns the cell set it was in), and per zone the
 *      joins (ZONE_CELLS_LUA 'A');
 *   3. per zone, the leaves the returned old sets call for (ZONE_CELLS_LUA 'R').
 * The hash is the truth and a cell set only an index of it: readers check every member against the hash
 * (nearby prunes, inCells filters), so a flush cut between 2 and 3 leaves at worst a ghost member that the
 * next read removes, never a wrong answer.
 */

/**
 * One courier's hash, the courier-slot half of FLUSH_LOCATIONS_LUA.
 * KEYS: [courier hash]. ARGV: [JSON update row as in FLUSH_LOCATIONS_LUA, hash TTL ms, full key of the new
 * cell set ('' for 'T')]. Returns the full key of the set the hash named before ('' if none or unchanged).
 */
export const UPDATE_COURIER_LUA = `
local u = cjson.decode(ARGV[1])
local hash = KEYS[1]
local old = ''
if u[1] == 'M' then
  local newSet = ARGV[3]
  old = redis.call('HGET', hash, 'ck') or ''
  if old == newSet then old = '' end
  redis.call('HSET', hash, 'lat', u[5], 'lng', u[6], 'ts', u[7], 'sts', u[3], 'cell', u[8], 'seq', u[9],
    'maxSeq', u[4], 'ck', newSet)
  if u[11] ~= '' then redis.call('HSET', hash, 'win', u[11]) end
else
  redis.call('HSET', hash, 'sts', u[3], 'maxSeq', u[4])
  if u[5] ~= '' then redis.call('HSET', hash, 'win', u[5]) end
end
redis.call('PEXPIRE', hash, ARGV[2])
return old
`;

/**
 * Cell-set joins or leaves of one zone (all KEYS share the zone's hash tag).
 * KEYS: cell sets. ARGV: [op ('A' join, renewing the set's TTL when it gained the member | 'R' leave),
 * TTL ms, then one courier id per key].
 */
export const ZONE_CELLS_LUA = `
local ttl = ARGV[2]
local n = 0
for i = 1, #KEYS do
  if ARGV[1] == 'A' then
    if redis.call('SADD', KEYS[i], ARGV[i + 2]) == 1 then
      redis.call('PEXPIRE', KEYS[i], ttl)
      n = n + 1
    end
  else
    n = n + redis.call('SREM', KEYS[i], ARGV[i + 2])
  end
end
return n
`;
