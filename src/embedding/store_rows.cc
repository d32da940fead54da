// Spec validation and initial rows shared by the DynamicStore
// implementations (store_rows.h).
#include "embedding/store_rows.h"

#include <cmath>
#include <string>

#include "embcol/embedding_table.h"
#include "embcol/errors.h"
#include "embedding/dynamic_table_convert.h"

namespace embcol::internal {

void ValidateStoreSpec(const DynamicStoreSpec& spec, const std::string& kind) {
  if (spec.name.empty()) {
    throw InvalidArgument(kind + ": the name is empty; set spec.name (it names the table in "
                          "errors and checkpoints).");
  }
  const std::string where = kind + " '" + spec.name + "'";
  if (spec.dim < 1) {
    throw InvalidArgument(where + ": dim must be >= 1, got " + std::to_string(spec.dim) + ".");
  }
  if (KeyTypeName(spec.key_type) == "unknown") {
    throw InvalidArgument(where + ": unknown key dtype (enum value " +
                          std::to_string(static_cast<int>(spec.key_type)) +
                          "); use int64, int32 or string.");
  }
  if (ValueDtypeName(spec.value_dtype) == "unknown") {
    throw InvalidArgument(where + ": unknown value dtype (enum value " +
                          std::to_string(static_cast<int>(spec.value_dtype)) +
                          "); use float32, float16 or bfloat16.");
  }
  for (size_t s = 0; s < spec.slot_initial_values.size(); ++s) {
    if (!std::isfinite(spec.slot_initial_values[s])) {
      throw InvalidArgument(where + ": slot " + std::to_string(s) +
                            " has a non-finite initial value; give a finite number.");
    }
  }
}

void RoundToStorage(ValueDtype dtype, float* row, int64_t n) {
  switch (dtype) {
    case ValueDtype::kFloat32:
      return;
    case ValueDtype::kBFloat16:
      for (int64_t c = 0; c < n; ++c) row[c] = DecodeBf16(EncodeBf16(row[c]));
      return;
    case ValueDtype::kFloat16:
      for (int64_t c = 0; c < n; ++c) row[c] = DecodeF16Ref(EncodeF16Ref(row[c]));
      return;
  }
}

InitialRows::InitialRows(const DynamicStoreSpec& spec)
    : dtype_(spec.value_dtype),
      dim_(spec.dim),
      initializer_(MakeInitializer(spec.initializer, -1, spec.dim,
                                   spec.seed.value_or(DefaultTableSeed(spec.name)), spec.name)) {}

void InitialRows::Row(int64_t init_row, float* out) const {
  initializer_->InitRow(init_row, out);
  RoundToStorage(dtype_, out, dim_);
}

void CheckKeyType(const DynamicStoreSpec& spec, const std::string& where, const KeyView& keys,
                  const char* op) {
  if (keys.type() == spec.key_type) return;
  const std::string want(KeyTypeName(spec.key_type)), got(KeyTypeName(keys.type()));
  throw InvalidArgument(where + ": " + op + " got " + got + " keys but the table's keys are " +
                        want + "; pass " + want + " keys, or create the table with key_type " +
                        got + ".");
}

void CheckSpanSize(const DynamicStoreSpec& spec, const std::string& where, size_t got,
                   int64_t want, const char* what, const char* op, int64_t n) {
  if (static_cast<int64_t>(got) == want) return;
  throw InvalidArgument(where + ": " + op + " got " + std::to_string(got) + " " + what + " for " +
                        std::to_string(n) + " keys; expected " + std::to_string(want) +
                        " (the table's dim is " + std::to_string(spec.dim) + ", num_slots " +
                        std::to_string(spec.num_slots()) + ").");
}

}  // namespace embcol::internal
