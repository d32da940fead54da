// RedisConnection (redis_connection.h): pipelining over hiredis's blocking
// API, reconnection with backoff, typed errors.
#include "storage/redis_connection.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>
#include <utility>

#include "embcol/errors.h"

namespace embcol::internal {

void RedisReplyDeleter::operator()(redisReply* reply) const {
  if (reply != nullptr) freeReplyObject(reply);
}

namespace {

timeval Millis(int ms) {
  timeval tv;
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return tv;
}

std::string ReplyText(const redisReply* r) {
  return r->str != nullptr ? std::string(r->str, r->len) : std::string();
}

}  // namespace

RedisConnection::RedisConnection(RedisConnectionConfig config) : config_(std::move(config)) {}

RedisConnection::~RedisConnection() { Drop(); }

std::string RedisConnection::Address() const {
  return config_.host + ":" + std::to_string(config_.port);
}

void RedisConnection::Drop() {
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
}

bool RedisConnection::Connect(std::string* error) {
  Drop();
  context_ = redisConnectWithTimeout(config_.host.c_str(), config_.port,
                                     Millis(config_.connect_timeout_ms));
  if (context_ == nullptr) {
    *error = "cannot allocate a connection";
    return false;
  }
  if (context_->err != 0) {
    *error = context_->errstr;
    Drop();
    return false;
  }
  redisSetTimeout(context_, Millis(config_.command_timeout_ms));
  std::vector<RedisCommand> setup;
  if (!config_.password.empty()) setup.push_back({"AUTH", config_.password});
  if (config_.db != 0) setup.push_back({"SELECT", std::to_string(config_.db)});
  for (const std::string& script : config_.scripts) setup.push_back({"SCRIPT", "LOAD", script});
  std::vector<RedisReply> replies;
  if (!TrySend(setup, replies, error)) {
    Drop();
    return false;
  }
  size_t k = 0;
  const auto check = [&](const char* field, const char* fix) {
    const redisReply* r = replies[k++].get();
    if (r->type == REDIS_REPLY_ERROR) {
      const std::string text = ReplyText(r);
      Drop();
      throw FailedPrecondition(config_.what + ": the Redis server at " + Address() +
                               " rejected " + field + ": " + text + "; " + fix);
    }
    return r;
  };
  if (!config_.password.empty()) check("the password (AUTH)", "check redis_password.");
  if (config_.db != 0) {
    check("the database number (SELECT)",
          "check redis_db against the server's 'databases' setting.");
  }
  shas_.clear();
  for (size_t s = 0; s < config_.scripts.size(); ++s) {
    shas_.push_back(ReplyText(check("a Lua script (SCRIPT LOAD)", "the server must allow "
                                                                   "EVAL (Redis >= 2.6).")));
  }
  return true;
}

bool RedisConnection::TrySend(const std::vector<RedisCommand>& commands,
                              std::vector<RedisReply>& replies, std::string* error) {
  replies.clear();
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const RedisCommand& command : commands) {
    argv.clear();
    lens.clear();
    for (const std::string& arg : command) {
      argv.push_back(arg.data());
      lens.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                               lens.data()) != REDIS_OK) {
      *error = context_->errstr;
      return false;
    }
  }
  replies.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* reply = nullptr;
    if (redisGetReply(context_, &reply) != REDIS_OK || reply == nullptr) {
      *error = context_->err != 0 ? context_->errstr : "no reply";
      replies.clear();
      return false;
    }
    replies.emplace_back(static_cast<redisReply*>(reply));
  }
  return true;
}

template <typename Attempt>
void RedisConnection::WithRetry(const char* op, Attempt&& attempt) {
  using Clock = std::chrono::steady_clock;
  std::chrono::milliseconds backoff(50);
  const auto budget = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(config_.retry_seconds));
  std::optional<Clock::time_point> deadline;
  std::string error;
  for (;;) {
    if ((context_ != nullptr || Connect(&error)) && attempt(&error)) return;
    Drop();
    const auto now = Clock::now();
    if (!deadline) deadline = now + budget;
    if (now >= *deadline) {
      throw Unavailable(config_.what + ": " + op + " cannot reach the Redis server at " +
                        Address() + " (" + error + ") after retrying for " +
                        std::to_string(config_.retry_seconds) +
                        " s; check that the server is running and that host/port are right.");
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(backoff, *deadline - now));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
  }
}

void RedisConnection::EnsureConnected(const char* op) {
  WithRetry(op, [](std::string*) { return true; });
}

std::vector<RedisReply> RedisConnection::Run(const std::vector<RedisCommand>& commands,
                                             const char* op) {
  std::vector<RedisReply> replies;
  bool reloaded = false;
  for (;;) {
    WithRetry(op, [&](std::string* error) { return TrySend(commands, replies, error); });
    const redisReply* failed = nullptr;
    bool noscript = false;
    for (const RedisReply& r : replies) {
      if (r->type != REDIS_REPLY_ERROR) continue;
      if (ReplyText(r.get()).rfind("NOSCRIPT", 0) == 0) {
        noscript = true;
      } else if (failed == nullptr) {
        failed = r.get();
      }
    }
    if (failed != nullptr) {
      throw FailedPrecondition(config_.what + ": " + op + " failed on the Redis server at " +
                               Address() + ": " + ReplyText(failed) +
                               " (is another program using this key prefix?)");
    }
    if (!noscript) return replies;
    if (reloaded) {
      throw FailedPrecondition(config_.what + ": " + op + ": the Redis server at " +
                               Address() + " keeps losing the store's Lua scripts.");
    }
    reloaded = true;
    Drop();  // the reconnect reloads the scripts
  }
}

}  // namespace embcol::internal
