// Initializers for embedding tables, by TensorFlow's serialized names.
//
// An InitializerConfig is what a column stores and what JSON holds:
// {"class_name": ..., "config": {...}}. Known classes and their config keys
// (missing keys take the default shown):
//
//   TruncatedNormal {mean: 0, stddev: 1, seed: null}   draws beyond 2 stddev
//                                                      from the mean are redrawn
//   RandomNormal    {mean: 0, stddev: 1, seed: null}
//   RandomUniform   {minval: -0.05, maxval: 0.05, seed: null}
//   Zeros {}, Ones {}
//   Constant        {value: v}  v a number (fills the table) or the whole
//                               table as nested lists [rows][dim]
//
// Values are a pure function of (seed, row, column): row r of a table is the
// same whatever the table size or the order rows are initialized in, so a
// dynamic table can initialize a key on first sight and a fixed table can be
// filled in parallel. With seed null the table's own seed is used (derived
// from the table name, so runs are reproducible).
//
// Initializers are immutable after creation: thread-safe.
#ifndef EMBCOL_INITIALIZER_H_
#define EMBCOL_INITIALIZER_H_

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace embcol {

struct InitializerConfig {
  std::string class_name;
  nlohmann::json config = nlohmann::json::object();

  nlohmann::json ToJson() const;  // {"class_name":..., "config":...}
  bool operator==(const InitializerConfig& other) const {
    return class_name == other.class_name && config == other.config;
  }
};

// TensorFlow's default for embedding_column: TruncatedNormal with mean 0,
// stddev 1/sqrt(dimension), seed null, dtype "float32".
InitializerConfig DefaultEmbeddingInitializer(int64_t dimension);

// True when class_name is one of the known initializers above.
bool IsKnownInitializer(const std::string& class_name);

class Initializer {
 public:
  virtual ~Initializer() = default;
  // Writes the `dim` initial values of row `row` into out[0..dim).
  virtual void InitRow(int64_t row, float* out) const = 0;
  int64_t dim() const { return dim_; }

 protected:
  explicit Initializer(int64_t dim) : dim_(dim) {}

 private:
  int64_t dim_;
};

// Builds an initializer for rows of `dim` floats. `num_rows` is checked
// against an explicit Constant table (-1: rows unknown, as in a dynamic
// table; then a full-table Constant is an error). `default_seed` is used
// when the config's seed is null. Throws InvalidArgument naming `context`
// for an unknown class, bad keys, or a Constant of the wrong shape.
std::unique_ptr<Initializer> MakeInitializer(const InitializerConfig& config,
                                             int64_t num_rows, int64_t dim,
                                             uint64_t default_seed,
                                             const std::string& context);

}  // namespace embcol

#endif  // EMBCOL_INITIALIZER_H_
