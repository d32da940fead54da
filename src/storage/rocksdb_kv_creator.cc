// The "RocksDBTableCreator" kv_creator (embcol/rocksdb_store.h): reads its
// JSON config and builds one RocksDB store per shard, under
// <path>/<shard name>.
#include <filesystem>
#include <string>

#include "embcol/errors.h"
#include "embcol/rocksdb_store.h"

namespace embcol::dynamic_embedding {

KvCreator RocksDbKvCreatorFromConfig(const nlohmann::json& config, const std::string& context) {
  const std::string what = context + ": " + std::string(kRocksDbKvCreator) + " config";
  if (!config.is_object()) {
    throw InvalidArgument(what + " must be a JSON object with at least \"path\", got " +
                          config.dump() + ".");
  }
  RocksDbStoreOptions base;
  for (const auto& [field, value] : config.items()) {
    if (field == "path") {
      if (!value.is_string() || value.get<std::string>().empty()) {
        throw InvalidArgument(what + " field 'path' must be a non-empty string (a directory "
                                     "for the shards' databases), got " + value.dump() + ".");
      }
      base.path = value.get<std::string>();
    } else if (field == "cache_bytes") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0) {
        throw InvalidArgument(what + " field 'cache_bytes' must be an integer >= 0 (bytes of "
                                     "cache per shard), got " + value.dump() + ".");
      }
      base.cache_bytes = value.get<int64_t>();
    } else if (field == "cache_policy") {
      if (!value.is_string() || (value != "lru" && value != "lfu")) {
        throw InvalidArgument(what + " field 'cache_policy' must be \"lru\" or \"lfu\", got " +
                              value.dump() + ".");
      }
      base.cache_policy = value.get<std::string>();
    } else if (field == "create_if_missing") {
      if (!value.is_boolean()) {
        throw InvalidArgument(what + " field 'create_if_missing' must be true or false, got " +
                              value.dump() + ".");
      }
      base.create_if_missing = value.get<bool>();
    } else if (field == "export_parts") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0 || value.get<int64_t>() > 4096) {
        throw InvalidArgument(what + " field 'export_parts' must be an integer in [0, 4096], "
                                     "got " + value.dump() + ".");
      }
      base.export_parts = value.get<int>();
    } else {
      throw InvalidArgument(what + " has no field '" + field +
                            "'; its fields are path, cache_bytes, cache_policy, "
                            "create_if_missing and export_parts.");
    }
  }
  if (base.path.empty()) {
    throw InvalidArgument(what + " needs the field 'path' (a directory for the shards' "
                                 "databases).");
  }
  return [base](const DynamicStoreSpec& spec, int64_t /*init_capacity*/) {
    RocksDbStoreOptions options = base;
    options.spec = spec;
    options.path = (std::filesystem::path(base.path) / spec.name).string();
    std::filesystem::create_directories(base.path);
    return std::unique_ptr<DynamicStore>(NewRocksDbStore(options));
  };
}

}  // namespace embcol::dynamic_embedding
