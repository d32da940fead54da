// EmbeddingTable: a fixed-size float32 table of num_rows x dim, row-major,
// 64-byte aligned -- the storage of an embedding_column's
// "embedding_weights" variable.
//
// Thread-compatible: concurrent reads are safe; writes (Row() through a
// non-const table, Initialize, Assign) need external synchronization.
#ifndef EMBCOL_EMBEDDING_TABLE_H_
#define EMBCOL_EMBEDDING_TABLE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "embcol/initializer.h"

namespace embcol {

class EmbeddingTable {
 public:
  // A zero-filled table. Throws InvalidArgument naming `name` when
  // num_rows < 1 or dim < 1.
  EmbeddingTable(std::string name, int64_t num_rows, int64_t dim);
  // A table filled by the initializer. seed: used when the config's seed is
  // null; nullopt derives it from the name (Fingerprint64 of the name).
  EmbeddingTable(std::string name, int64_t num_rows, int64_t dim,
                 const InitializerConfig& initializer,
                 std::optional<uint64_t> seed = std::nullopt);

  const std::string& name() const { return name_; }
  int64_t num_rows() const { return num_rows_; }
  int64_t dim() const { return dim_; }
  // REQUIRES: 0 <= row < num_rows(). Valid while the table lives.
  const float* Row(int64_t row) const { return data_.get() + row * dim_; }
  float* Row(int64_t row) { return data_.get() + row * dim_; }
  const float* data() const { return data_.get(); }
  float* data() { return data_.get(); }

  // Refills every row from the initializer.
  void Initialize(const InitializerConfig& initializer, uint64_t seed);
  // Copies num_rows*dim values in. Throws InvalidArgument on a size mismatch.
  void Assign(const std::vector<float>& values);
  std::vector<float> ToVector() const;

 private:
  struct FreeDeleter { void operator()(float* p) const; };
  std::string name_;
  int64_t num_rows_;
  int64_t dim_;
  std::unique_ptr<float[], FreeDeleter> data_;
};

// The seed a table named `name` uses when none is given.
uint64_t DefaultTableSeed(const std::string& name);

}  // namespace embcol

#endif  // EMBCOL_EMBEDDING_TABLE_H_
