// kv_creator by name: TFRA's kv_creator argument (de.CuckooHashTableCreator,
// de.RedisTableCreator, ...) as JSON, so configs and checkpoints can say
// which store backs a dynamic table.
//
//   {"class_name": "<creator>", "config": {...}}
//
// Built in: "CuckooHashTableCreator" (TFRA's default name; embcol's
// in-memory dynamic table, dynamic_table.h) with an empty config, also
// accepted as the short forms "memory" (a bare string) and null. Persistent
// and remote stores register their class names with RegisterKvCreator; an
// unknown class_name is an InvalidArgument that lists the registered ones.
//
// Thread-safety: RegisterKvCreator and the lookups are thread-safe (one
// process-wide registry behind a mutex).
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
// empty class name.
void RegisterKvCreator(const std::string& class_name, KvCreatorFactory factory);

// Registered class names, sorted.
std::vector<std::string> RegisteredKvCreators();

// A kv_creator description with the short forms resolved:
// null / "memory" -> {"class_name": "CuckooHashTableCreator", "config": {}}.
// Throws InvalidArgument naming `context` for any other shape or an unknown
// class name.
nlohmann::json CanonicalKvCreatorConfig(const nlohmann::json& config, const std::string& context);

// The creator a description names (after CanonicalKvCreatorConfig). For the
// in-memory class the result is DefaultKvCreator().
KvCreator KvCreatorFromConfig(const nlohmann::json& config, const std::string& context);

}  // namespace embcol::dynamic_embedding

#endif  // EMBCOL_KV_CREATOR_H_
