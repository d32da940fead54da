// Helpers shared by dynamic_variable.cc and dynamic_lookup.cc (not public).
// Thread-safety: pure functions, thread-safe.
#ifndef EMBCOL_EMBEDDING_DYNAMIC_VARIABLE_INTERNAL_H_
#define EMBCOL_EMBEDDING_DYNAMIC_VARIABLE_INTERNAL_H_

#include <cstdint>
#include <vector>

#include "embcol/dynamic_embedding.h"

namespace embcol::dynamic_embedding::internal {

// The key at position i of `keys`, as a KeyRef (a string key's view stays
// valid while `keys` does). REQUIRES: 0 <= i < keys.size().
KeyRef KeyAt(const KeyView& keys, int64_t i);

// tf.unique over a KeyView: `unique` receives the distinct keys in
// first-occurrence order, `inverse[i]` the index in `unique` of keys[i].
void Unique(const KeyView& keys, KeyList* unique, std::vector<int64_t>* inverse);

}  // namespace embcol::dynamic_embedding::internal

#endif  // EMBCOL_EMBEDDING_DYNAMIC_VARIABLE_INTERNAL_H_
