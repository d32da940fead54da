// A dynamic embedding table kept in Redis (TFRA's RedisTableCreator): a
// DynamicStore (embcol/dynamic_store.h) whose entries live on a Redis server,
// so several trainer processes can share one table and it survives the
// process. Client: hiredis, one connection per store.
//
// Layout on the server (docs/storage.md, "Redis store"):
//   <key_prefix>{<table>:<shard>}            a Redis hash per key bucket
//       field = the key's bytes (int64: 8 bytes, int32: 4 bytes, both
//               little-endian; string: the bytes as given)
//       value = row (dim float32, LE) | slots (num_slots*dim float32, LE)
//               | last_update (uint32 LE) | frequency (uint32 LE)
//   <key_prefix>{<table>}:spec               the table's shape, checked on open
//   <key_prefix>{<table>:<shard>}:acc:<id>   Accumulate batch ids (1 h TTL)
// A key's bucket is Fingerprint64(field) mod num_shards. The braces are
// Redis Cluster hash tags: one bucket's keys share a cluster slot, the
// buckets spread over the slots.
//
// Every batch operation groups its keys by bucket and sends one command per
// bucket, all pipelined (one round trip per call, not per key). Accumulate
// (bp_v2) and Upsert run as Lua scripts on the server, so they are atomic
// per bucket: processes accumulating into the same keys lose no update.
// UpdateRows reads, calls back and writes back: atomic within this store,
// not across processes (the last writer wins).
//
// Connection loss: a call reconnects with exponential backoff (50 ms up to
// 1 s) for up to retry_seconds, then throws Unavailable naming host:port.
// A retried Accumulate batch is applied once (its id is recorded with it).
// A key that exists never reads as its initial value because of an error.
//
// Rows are stored as float32 only (value_dtype float16/bfloat16 is an
// InvalidArgument). Thread-safe (one connection behind a mutex).
#ifndef EMBCOL_REDIS_STORE_H_
#define EMBCOL_REDIS_STORE_H_

#include <memory>
#include <string>

#include "embcol/dynamic_store.h"

namespace embcol {

struct RedisStoreOptions {
  // Keys, dim, initializer, slots; see dynamic_store.h. value_dtype must be
  // float32. The spec's name is part of every server key.
  DynamicStoreSpec spec;

  // Server address. Default 127.0.0.1:6379 (TFRA's redis_host_ip/port).
  std::string host = "127.0.0.1";
  int port = 6379;
  // AUTH password; empty (the default): no AUTH.
  std::string password;
  // SELECT database number, >= 0. Default 0.
  int db = 0;
  // Prepended to every server key. Default "embcol:".
  std::string key_prefix = "embcol:";
  // Key buckets (Redis hashes) per table, in [1, 65536]. Default 16. Fixed
  // for the life of the data: re-opening with another count is an error.
  int num_shards = 16;
  // Connect and per-command (socket read/write) timeouts, milliseconds, > 0.
  // Defaults 1000 and 10000 (TFRA's redis_connection_timeout and
  // redis_socket_timeout are in the same unit).
  int connect_timeout_ms = 1000;
  int command_timeout_ms = 10000;
  // How long a call keeps reconnecting before it throws Unavailable, >= 0.
  // Default 30 s.
  double retry_seconds = 30.0;
};

// Connects and checks (or records) the table's shape on the server. Throws
// InvalidArgument naming the table and field for bad options,
// FailedPrecondition when the server holds the table with another dim, key
// type, slot count or bucket count, and Unavailable naming host:port when
// the server cannot be reached within retry_seconds.
std::unique_ptr<DynamicStore> NewRedisStore(const RedisStoreOptions& options);

}  // namespace embcol

#endif  // EMBCOL_REDIS_STORE_H_
