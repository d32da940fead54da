// The Lua scripts the Redis store (embcol/redis_store.h) runs on the server.
// Redis runs a script atomically, so each script's effect on its bucket is
// all-or-nothing and never interleaves with another client's. Values are
// the entry bytes of docs/storage.md: row (dim float32 LE) | slots | meta.
// Redis's Lua (5.1) has the `struct` library for float32 packing; a Lua
// number is a double, and a float32 sum computed in double and rounded once
// to float32 equals the float32 sum (53 >= 2*24 + 2 bits).
#ifndef EMBCOL_STORAGE_REDIS_SCRIPTS_H_
#define EMBCOL_STORAGE_REDIS_SCRIPTS_H_

namespace embcol::internal {

// Upsert. KEYS[1] bucket; ARGV[1] the new-entry tail (initial slots + zero
// meta); ARGV[2] row bytes; then (field, row) pairs. Existing entries keep
// their slots and meta.
inline constexpr const char* kUpsertScript = R"lua(
local tail = ARGV[1]
local rowlen = tonumber(ARGV[2])
for i = 3, #ARGV, 2 do
  local old = redis.call('HGET', KEYS[1], ARGV[i])
  if old then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1] .. string.sub(old, rowlen + 1))
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1] .. tail)
  end
end
return 0
)lua";

// bp_v2 Accumulate. KEYS[1] bucket; KEYS[2] the batch id key (same hash
// tag): a batch whose id is recorded was applied already (a re-send after
// a lost reply) and is skipped. ARGV[1] new-entry tail; ARGV[2] dim; then
// (field, existed '1'/'0', row) triples:
//   present and existed      -> row += delta (float32, element-wise)
//   absent and not existed   -> insert row .. tail
//   otherwise                -> ignored
inline constexpr const char* kAccumulateScript = R"lua(
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local tail = ARGV[1]
local dim = tonumber(ARGV[2])
local rowlen = 4 * dim
local parts = {}
for i = 3, #ARGV, 3 do
  local field, existed, delta = ARGV[i], ARGV[i + 1] == '1', ARGV[i + 2]
  local old = redis.call('HGET', KEYS[1], field)
  if old and existed then
    for c = 1, dim do
      local at = 4 * c - 3
      parts[c] = struct.pack('<f', struct.unpack('<f', old, at) + struct.unpack('<f', delta, at))
    end
    redis.call('HSET', KEYS[1], field, table.concat(parts, '', 1, dim) .. string.sub(old, rowlen + 1))
  elseif (not old) and (not existed) then
    redis.call('HSET', KEYS[1], field, delta .. tail)
  end
end
redis.call('SET', KEYS[2], '1', 'EX', 3600)
return 1
)lua";

enum RedisScript { kUpsert = 0, kAccumulate = 1 };

}  // namespace embcol::internal

#endif  // EMBCOL_STORAGE_REDIS_SCRIPTS_H_
