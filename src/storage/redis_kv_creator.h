// The "RedisTableCreator" kv_creator (embcol/kv_creator.h): a dynamic
// variable's shards kept in Redis (embcol/redis_store.h), configured with
// TFRA's RedisTableConfig field names. Thread-safe (pure).
#ifndef EMBCOL_STORAGE_REDIS_KV_CREATOR_H_
#define EMBCOL_STORAGE_REDIS_KV_CREATOR_H_

#include <string>

#include <nlohmann/json.hpp>

#include "embcol/dynamic_embedding.h"
#include "embcol/redis_store.h"

namespace embcol::dynamic_embedding {

inline constexpr const char* kRedisKvCreator = "RedisTableCreator";

// Reads a RedisTableCreator config (null or an object; docs/storage.md):
//   redis_connection_mode     2 (standalone) only; 0 cluster / 1 sentinel
//                             are InvalidArgument. Default 2.
//   redis_host_ip             [one address]      default ["127.0.0.1"]
//   redis_host_port           [one port]         default [6379]
//   redis_password            string             default ""
//   redis_db                  int >= 0           default 0
//   redis_connection_timeout  ms > 0             default 1000
//   redis_socket_timeout      ms > 0             default 1000
//   storage_slice             buckets per table  default 16
//   model_tag_runtime         key prefix "<tag>:" default "embcol"
//   retry_seconds             reconnect budget   default 30
// and ignores TFRA's connection-pool knobs (redis_connection_pool_size,
// redis_wait_timeout, redis_connection_lifetime, keep_alive_connection).
// Throws InvalidArgument naming `context` and the field.
RedisStoreOptions RedisStoreOptionsFromConfig(const nlohmann::json& config,
                                              const std::string& context);

// The KvCreator: each shard a Redis store named by its spec.
KvCreator RedisKvCreatorFromConfig(const nlohmann::json& config, const std::string& context);

}  // namespace embcol::dynamic_embedding

#endif  // EMBCOL_STORAGE_REDIS_KV_CREATOR_H_
