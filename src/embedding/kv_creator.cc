// The process-wide kv_creator registry (embcol/kv_creator.h).
//
// One map from class name to factory behind a mutex, created on first use
// with the built-in stores of BuiltinKvCreators() already in it (so no
// static-initialization order matters). Lookups copy the factory out and
// call it after releasing the lock, so a slow store constructor never
// blocks other lookups and a factory may itself consult the registry.
#include "embcol/kv_creator.h"

#include <map>
#include <mutex>
#include <utility>

#include "embcol/errors.h"
#include "embcol/rocksdb_store.h"
#include "storage/redis_kv_creator.h"

namespace embcol::dynamic_embedding {
namespace {

// The short form of the in-memory class (a bare string in a config).
constexpr const char* kMemoryShortForm = "memory";

KvCreator InMemoryFromConfig(const nlohmann::json& config, const std::string& context) {
  if (!config.is_null() && !config.is_object()) {
    throw InvalidArgument(context + ": the " + std::string(kInMemoryKvCreator) +
                          " config must be a JSON object or null, got " + config.dump() + ".");
  }
  if (config.is_object()) {
    for (const auto& [key, value] : config.items()) {
      if (key == "saver" && value.is_null()) continue;
      if (key == "saver") {
        throw InvalidArgument(context + ": " + std::string(kInMemoryKvCreator) +
                              " 'saver' must be null (file savers are not supported), got " +
                              value.dump() + ".");
      }
      throw InvalidArgument(context + ": " + std::string(kInMemoryKvCreator) +
                            " has no config field '" + key + "'; its config is {} (or null).");
    }
  }
  return DefaultKvCreator();
}

// Stores compiled into embcol. Add a persistent or remote store here with
// one line: {"<ClassName>", &<StoreKvCreatorFromConfig>}.
std::vector<std::pair<std::string, KvCreatorFactory>> BuiltinKvCreators() {
  return {
      {kInMemoryKvCreator, &InMemoryFromConfig},
      {kRocksDbKvCreator, &RocksDbKvCreatorFromConfig},
      {kRedisKvCreator, &RedisKvCreatorFromConfig},
  };
}

struct Registry {
  std::mutex mu;
  std::map<std::string, KvCreatorFactory> factories;  // guarded by mu
};

Registry& GetRegistry() {
  static Registry* registry = [] {
    auto* r = new Registry;  // never destroyed: usable during static destruction
    for (auto& [name, factory] : BuiltinKvCreators()) r->factories[name] = std::move(factory);
    return r;
  }();
  return *registry;
}

// The factory registered under `name`, or an empty function.
KvCreatorFactory FindFactory(const std::string& name) {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.factories.find(name);
  return it == r.factories.end() ? KvCreatorFactory() : it->second;
}

std::string RegisteredList() {
  std::string out;
  for (const std::string& name : RegisteredKvCreators()) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

}  // namespace

void RegisterKvCreator(const std::string& class_name, KvCreatorFactory factory) {
  if (class_name.empty()) {
    throw InvalidArgument("RegisterKvCreator: the class name is empty; pass the name configs use "
                          "in kv_creator.class_name.");
  }
  if (class_name == kMemoryShortForm) {
    throw InvalidArgument("RegisterKvCreator: 'memory' is the short form of " +
                          std::string(kInMemoryKvCreator) + "; register under another name.");
  }
  if (!factory) {
    throw InvalidArgument("RegisterKvCreator: the factory for '" + class_name +
                          "' is empty; pass a function building the store's KvCreator.");
  }
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.factories[class_name] = std::move(factory);
}

std::vector<std::string> RegisteredKvCreators() {
  Registry& r = GetRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  std::vector<std::string> names;
  for (const auto& [name, factory] : r.factories) names.push_back(name);
  return names;  // std::map iterates in sorted order
}

nlohmann::json CanonicalKvCreatorConfig(const nlohmann::json& config, const std::string& context) {
  if (config.is_null() || (config.is_string() && config.get<std::string>() == kMemoryShortForm)) {
    return {{"class_name", kInMemoryKvCreator}, {"config", nlohmann::json::object()}};
  }
  if (!config.is_object() || !config.contains("class_name") || !config["class_name"].is_string()) {
    throw InvalidArgument(context + ": kv_creator must be {\"class_name\": ..., \"config\": {...}}, "
                          "\"memory\" or null, got " + config.dump() + ".");
  }
  for (const auto& [key, value] : config.items()) {
    if (key != "class_name" && key != "config") {
      throw InvalidArgument(context + ": kv_creator has no field '" + key +
                            "'; it holds only class_name and config.");
    }
  }
  const std::string name = config["class_name"].get<std::string>();
  if (!FindFactory(name)) {
    throw InvalidArgument(context + ": unknown kv_creator class_name '" + name +
                          "'; registered: " + RegisteredList() +
                          ". Register the store with RegisterKvCreator before loading the "
                          "config, or use one of those.");
  }
  nlohmann::json inner = config.value("config", nlohmann::json::object());
  if (inner.is_null()) inner = nlohmann::json::object();
  if (!inner.is_object()) {
    throw InvalidArgument(context + ": kv_creator " + name + " 'config' must be a JSON object, got " +
                          inner.dump() + ".");
  }
  return {{"class_name", name}, {"config", std::move(inner)}};
}

KvCreator KvCreatorFromConfig(const nlohmann::json& config, const std::string& context) {
  const nlohmann::json canonical = CanonicalKvCreatorConfig(config, context);
  const std::string name = canonical["class_name"].get<std::string>();
  // Registrations are never removed, so the class CanonicalKvCreatorConfig
  // found is still there.
  const KvCreatorFactory factory = FindFactory(name);
  KvCreator creator = factory(canonical["config"], context);
  if (!creator) {
    throw InvalidArgument(context + ": kv_creator " + name + " built no creator from config " +
                          canonical["config"].dump() + ".");
  }
  return creator;
}

}  // namespace embcol::dynamic_embedding
