// RedisTableCreator's config reader (redis_kv_creator.h).
#include "storage/redis_kv_creator.h"

#include <set>

#include "embcol/errors.h"

namespace embcol::dynamic_embedding {
namespace {

[[noreturn]] void Bad(const std::string& context, const std::string& field,
                      const std::string& what) {
  throw InvalidArgument(context + ": " + kRedisKvCreator + " config field '" + field + "' " +
                        what);
}

int64_t IntField(const nlohmann::json& v, const std::string& context, const std::string& field,
                 int64_t min, int64_t max) {
  if (!v.is_number_integer() || v.get<int64_t>() < min || v.get<int64_t>() > max) {
    Bad(context, field, "must be an integer in [" + std::to_string(min) + ", " +
                            std::to_string(max) + "], got " + v.dump() + ".");
  }
  return v.get<int64_t>();
}

// A one-element list (TFRA lists one entry per cluster node) or a scalar.
nlohmann::json Single(const nlohmann::json& v, const std::string& context,
                      const std::string& field) {
  if (!v.is_array()) return v;
  if (v.size() != 1) {
    Bad(context, field, "must list exactly one server (standalone mode), got " + v.dump() + ".");
  }
  return v[0];
}

}  // namespace

RedisStoreOptions RedisStoreOptionsFromConfig(const nlohmann::json& config,
                                              const std::string& context) {
  RedisStoreOptions o;
  o.key_prefix = "embcol:";
  o.command_timeout_ms = 1000;
  if (config.is_null()) return o;
  if (!config.is_object()) {
    throw InvalidArgument(context + ": the " + std::string(kRedisKvCreator) +
                          " config must be a JSON object or null, got " + config.dump() + ".");
  }
  static const std::set<std::string> kIgnored = {"redis_connection_pool_size",
                                                 "redis_wait_timeout",
                                                 "redis_connection_lifetime",
                                                 "keep_alive_connection"};
  for (const auto& [field, v] : config.items()) {
    if (kIgnored.count(field) != 0) continue;
    if (field == "redis_connection_mode") {
      if (IntField(v, context, field, 0, 2) != 2) {
        Bad(context, field, "is " + v.dump() + " but only 2 (standalone) is supported; Redis "
                            "Cluster and Sentinel are not.");
      }
    } else if (field == "redis_host_ip") {
      const nlohmann::json host = Single(v, context, field);
      if (!host.is_string() || host.get<std::string>().empty()) {
        Bad(context, field, "must be a non-empty address string, got " + v.dump() + ".");
      }
      o.host = host.get<std::string>();
    } else if (field == "redis_host_port") {
      o.port = static_cast<int>(IntField(Single(v, context, field), context, field, 1, 65535));
    } else if (field == "redis_password") {
      if (!v.is_string()) Bad(context, field, "must be a string, got " + v.dump() + ".");
      o.password = v.get<std::string>();
    } else if (field == "redis_db") {
      o.db = static_cast<int>(IntField(v, context, field, 0, 1 << 20));
    } else if (field == "redis_connection_timeout") {
      o.connect_timeout_ms = static_cast<int>(IntField(v, context, field, 1, 1 << 30));
    } else if (field == "redis_socket_timeout") {
      o.command_timeout_ms = static_cast<int>(IntField(v, context, field, 1, 1 << 30));
    } else if (field == "storage_slice") {
      o.num_shards = static_cast<int>(IntField(v, context, field, 1, 65536));
    } else if (field == "model_tag_runtime") {
      if (!v.is_string() || v.get<std::string>().empty()) {
        Bad(context, field, "must be a non-empty string, got " + v.dump() + ".");
      }
      o.key_prefix = v.get<std::string>() + ":";
    } else if (field == "retry_seconds") {
      if (!v.is_number() || !(v.get<double>() >= 0)) {
        Bad(context, field, "must be a number >= 0, got " + v.dump() + ".");
      }
      o.retry_seconds = v.get<double>();
    } else {
      Bad(context, field, "is not known; the fields are redis_connection_mode, redis_host_ip, "
                          "redis_host_port, redis_password, redis_db, redis_connection_timeout, "
                          "redis_socket_timeout, storage_slice, model_tag_runtime, "
                          "retry_seconds.");
    }
  }
  return o;
}

KvCreator RedisKvCreatorFromConfig(const nlohmann::json& config, const std::string& context) {
  const RedisStoreOptions base = RedisStoreOptionsFromConfig(config, context);
  return [base](const DynamicStoreSpec& spec, int64_t /*init_capacity*/) {
    RedisStoreOptions o = base;
    o.spec = spec;
    return NewRedisStore(o);
  };
}

}  // namespace embcol::dynamic_embedding
