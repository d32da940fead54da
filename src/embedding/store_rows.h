// Pieces every DynamicStore implementation shares (the in-memory table,
// embcol/dynamic_table.h, and the persistent stores of src/storage): spec
// validation, rounding rows to the storage dtype, and the initial row of a
// missing key. Keeping them in one place makes an unseen key read the same
// vector from every store. Thread-safe (InitialRows is immutable after
// construction).
#ifndef EMBCOL_EMBEDDING_STORE_ROWS_H_
#define EMBCOL_EMBEDDING_STORE_ROWS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "embcol/dynamic_store.h"
#include "embcol/initializer.h"

namespace embcol::internal {

// Checks the parts of a spec every store needs: a non-empty name, dim >= 1,
// known key and value dtypes, finite slot initial values. Throws
// InvalidArgument starting "<kind> '<name>'" (or "<kind>:" for an empty
// name), e.g. kind = "Dynamic table".
void ValidateStoreSpec(const DynamicStoreSpec& spec, const std::string& kind);

// Argument checks of the DynamicStore operations, shared so every store
// words them alike. `where` names the store ("Dynamic table 'x'"), `op` the
// operation. InvalidArgument when the keys are not of the spec's key type /
// when a span holds `got` elements where `want` are needed for n keys.
void CheckKeyType(const DynamicStoreSpec& spec, const std::string& where, const KeyView& keys,
                  const char* op);
void CheckSpanSize(const DynamicStoreSpec& spec, const std::string& where, size_t got,
                   int64_t want, const char* what, const char* op, int64_t n);

// Rounds n floats in place to the values `dtype` can hold (nearest even),
// i.e. what a row reads back after being stored. No-op for float32.
void RoundToStorage(ValueDtype dtype, float* row, int64_t n);

// The initial value of missing keys: Initializer::InitRow(row) (row from
// InitializerRowOf), rounded to the storage dtype.
class InitialRows {
 public:
  // Builds the spec's initializer with its seed (spec.seed or
  // DefaultTableSeed(spec.name)). Throws InvalidArgument naming the table
  // for a bad initializer config.
  explicit InitialRows(const DynamicStoreSpec& spec);

  // out[0 .. dim) = the initial row of initializer row `init_row`.
  void Row(int64_t init_row, float* out) const;

 private:
  ValueDtype dtype_;
  int64_t dim_;
  std::unique_ptr<Initializer> initializer_;
};

}  // namespace embcol::internal

#endif  // EMBCOL_EMBEDDING_STORE_ROWS_H_
