// kv_creator by name: TFRA's kv_creator argument (de.CuckooHashTableCreator,
// de.RedisTableCreator, ...) as JSON, so configs and checkpoints can say
// which store backs a dynamic table.
//
//   {"class_name": "<creator>", "config": {...}}
//
// Built in: "CuckooHashTableCreator" (TFRA's default name; embcol's
// in-memory dynamic table, dynamic_table.h) with an empty config, also
// accepted as the short forms "memory" (a bare string) and null. Its config
// may be {} or null; the one TFRA field, "saver", may only be null (file
// savers are not supported). An unknown class_name is an InvalidArgument
// that names the context and lists the registered class names.
//
// Registering a store. A store is a KvCreatorFactory: it reads its
// creator's "config" object (throwing InvalidArgument naming `context` and
// the field for a bad one) and returns a KvCreator (dynamic_embedding.h)
// that builds one DynamicStore per shard. Two ways to register:
//   - stores built into embcol are listed in BuiltinKvCreators() in
//     src/embedding/kv_creator.cc, one line each, e.g.
//       {"RocksDBTableCreator", &RocksDbKvCreatorFromConfig},
//     (a static registrar object in the store's own .cc would be dropped
//     by the linker when embcol is linked as a static library);
//   - a program adds its own store at run time, before any config names it:
//       RegisterKvCreator("MyStoreCreator",
//           [](const nlohmann::json& config, const std::string& context) {
//             return KvCreator(...);  // validate config first
//           });
// Class names are case-sensitive and used verbatim in get_config output.
//
// Thread-safety: RegisterKvCreator and the lookups are thread-safe (one
// process-wide registry behind a mutex). A factory runs outside the lock.
#ifndef EMBCOL_KV_CREATOR_H_
#define EMBCOL_KV_CREATOR_H_

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "embcol/dynamic_embedding.h"

namespace embcol::dynamic_embedding {

// The class name of the in-memory store.
inline constexpr const char* kInMemoryKvCreator = "CuckooHashTableCreator";

// Builds a KvCreator from a creator's "config" object. Throws InvalidArgument
// naming `context` for a bad field.
using KvCreatorFactory =
    std::function<KvCreator(const nlohmann::json& config, const std::string& context)>;

// Registers (or replaces) a creator class. Throws InvalidArgument for an
// empty class name, an empty factory, or the short form "memory".
void RegisterKvCreator(const std::string& class_name, KvCreatorFactory factory);

// Registered class names, sorted.
std::vector<std::string> RegisteredKvCreators();

// A kv_creator description with the short forms resolved:
// null / "memory" -> {"class_name": "CuckooHashTableCreator", "config": {}}.
// Throws InvalidArgument naming `context` for any other shape or an unknown
// class name.
nlohmann::json CanonicalKvCreatorConfig(const nlohmann::json& config, const std::string& context);

// The creator a description names (after CanonicalKvCreatorConfig). For the
// in-memory class the result is DefaultKvCreator(). Throws InvalidArgument
// naming `context` for a bad description; whatever the factory throws
// propagates.
KvCreator KvCreatorFromConfig(const nlohmann::json& config, const std::string& context);

}  // namespace embcol::dynamic_embedding

#endif  // EMBCOL_KV_CREATOR_H_
