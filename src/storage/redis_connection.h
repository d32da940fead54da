// One hiredis connection with pipelining, reconnection and typed errors, for
// the Redis store (embcol/redis_store.h).
//
// Run() sends a list of commands in one pipeline and returns their replies
// in order. When the connection breaks (refused, reset, timed out), Run
// reconnects with exponential backoff (50 ms doubling to 1 s) and re-sends
// the whole list, for up to retry_seconds from the first failure, then
// throws Unavailable naming host:port. Commands must therefore be safe to
// send twice (the store makes its non-idempotent script idempotent with a
// batch id). An error reply from the server (WRONGTYPE, OOM, ...) is a
// FailedPrecondition naming the server and the operation; NOSCRIPT (a
// restarted server lost the scripts) reloads them and re-sends once.
//
// Not thread-safe: the store serializes calls with its mutex.
#ifndef EMBCOL_STORAGE_REDIS_CONNECTION_H_
#define EMBCOL_STORAGE_REDIS_CONNECTION_H_

#include <memory>
#include <string>
#include <vector>

struct redisContext;
struct redisReply;

namespace embcol::internal {

struct RedisReplyDeleter {
  void operator()(redisReply* reply) const;
};
using RedisReply = std::unique_ptr<redisReply, RedisReplyDeleter>;

// One command: its arguments as binary-safe strings.
using RedisCommand = std::vector<std::string>;

struct RedisConnectionConfig {
  std::string host;
  int port = 6379;
  std::string password;
  int db = 0;
  int connect_timeout_ms = 1000;
  int command_timeout_ms = 10000;
  double retry_seconds = 30.0;
  // Names the store in error messages, e.g. "Redis store 'user_emb'".
  std::string what;
  // Lua scripts loaded on every (re)connect; ScriptSha(i) is script i's id.
  std::vector<std::string> scripts;
};

class RedisConnection {
 public:
  explicit RedisConnection(RedisConnectionConfig config);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Sends `commands` pipelined; one reply per command. `op` names the
  // operation in errors. Throws Unavailable / FailedPrecondition (above).
  std::vector<RedisReply> Run(const std::vector<RedisCommand>& commands, const char* op);

  // SHA1 of script i (as SCRIPT LOAD returned it). REQUIRES: connected once.
  const std::string& ScriptSha(size_t i) const { return shas_[i]; }
  // "host:port".
  std::string Address() const;
  // Connects now (if not connected), with the same retry budget as Run.
  void EnsureConnected(const char* op);

 private:
  // false (and *error set) when the connection could not be made or broke.
  bool Connect(std::string* error);
  bool TrySend(const std::vector<RedisCommand>& commands, std::vector<RedisReply>& replies,
               std::string* error);
  void Drop();
  // Runs `attempt` until it returns true, reconnecting with backoff.
  template <typename Attempt>
  void WithRetry(const char* op, Attempt&& attempt);

  RedisConnectionConfig config_;
  redisContext* context_ = nullptr;
  std::vector<std::string> shas_;
};

}  // namespace embcol::internal

#endif  // EMBCOL_STORAGE_REDIS_CONNECTION_H_
