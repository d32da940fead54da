// Typed errors for embcol's public API.
//
// Every error embcol raises at its API boundary is one of the classes below,
// all derived from embcol::Error (itself a std::runtime_error). The message
// names the column, feature, file or key involved and says what would fix
// the problem. Each class maps one-to-one onto a Python exception:
//
//   InvalidArgument    -> ValueError          (bad argument or bad input data)
//   NotFound           -> KeyError            (a named thing does not exist)
//   OutOfRange         -> IndexError          (an id or index outside its range)
//   FailedPrecondition -> RuntimeError        (the object is in the wrong state)
//   DataLoss           -> IOError / OSError   (a file is corrupt or truncated)
//   Unavailable        -> ConnectionError     (a store or server cannot be reached)
//   Internal           -> RuntimeError        (a bug in embcol)
//
// Hot kernels never throw; they return a status the caller turns into one of
// these with context. The classes are immutable and thread-safe.
#ifndef EMBCOL_ERRORS_H_
#define EMBCOL_ERRORS_H_

#include <stdexcept>
#include <string>
#include <string_view>

namespace embcol {

enum class ErrorCode {
  kInvalidArgument,
  kNotFound,
  kOutOfRange,
  kFailedPrecondition,
  kDataLoss,
  kUnavailable,
  kInternal,
};

// "InvalidArgument", "NotFound", ... : the prefix the CLI prints on stderr.
std::string_view ErrorCodeName(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

#define EMBCOL_DEFINE_ERROR(Name)                                   \
  class Name : public Error {                                       \
   public:                                                          \
    explicit Name(const std::string& message)                       \
        : Error(ErrorCode::k##Name, message) {}                     \
  };
EMBCOL_DEFINE_ERROR(InvalidArgument)
EMBCOL_DEFINE_ERROR(NotFound)
EMBCOL_DEFINE_ERROR(OutOfRange)
EMBCOL_DEFINE_ERROR(FailedPrecondition)
EMBCOL_DEFINE_ERROR(DataLoss)
EMBCOL_DEFINE_ERROR(Unavailable)
EMBCOL_DEFINE_ERROR(Internal)
#undef EMBCOL_DEFINE_ERROR

}  // namespace embcol

#endif  // EMBCOL_ERRORS_H_
