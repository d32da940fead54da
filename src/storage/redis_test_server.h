// A throwaway redis-server for tests: a child process on a free loopback
// port (found by binding port 0), with its data in a fresh directory,
// append-only file on and fsynced on every write. Start() waits (up to 60 s,
// for a loaded machine) until the server answers PING; Kill() sends SIGKILL
// (a crash: only what the append-only file holds survives). Not
// thread-safe; header-only so the library does not carry test code.
#ifndef EMBCOL_STORAGE_REDIS_TEST_SERVER_H_
#define EMBCOL_STORAGE_REDIS_TEST_SERVER_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace embcol::testing {

// Whether an executable `name` is on PATH.
inline bool OnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::string all(path);
  size_t begin = 0;
  while (begin <= all.size()) {
    size_t end = all.find(':', begin);
    if (end == std::string::npos) end = all.size();
    const std::string candidate = all.substr(begin, end - begin) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return true;
    begin = end + 1;
  }
  return false;
}

// A loopback TCP port no one listens on now (the kernel's choice for port 0).
inline int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

class RedisTestServer {
 public:
  // extra: more "--option value" arguments (e.g. cluster mode), may be empty.
  explicit RedisTestServer(std::vector<std::string> extra = {}) : extra_(std::move(extra)) {
    char templ[] = "/tmp/embcol_redis_XXXXXX";
    dir_ = mkdtemp(templ);
    port_ = FreeLoopbackPort();
  }
  ~RedisTestServer() {
    Kill();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  int port() const { return port_; }
  const std::string& dir() const { return dir_; }

  // Starts the server (again, on the same port and directory). false when it
  // does not answer PING within 60 s.
  bool Start() {
    std::vector<std::string> args = {"redis-server", "--port", std::to_string(port_), "--bind",
                                     "127.0.0.1", "--save", "", "--appendonly", "yes",
                                     "--appendfsync", "always", "--dir", dir_,
                                     "--logfile", dir_ + "/redis.log"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    pid_ = fork();
    if (pid_ == 0) {
      // Not the test's stdout/stderr: a pipe reader must not wait for the server.
      const int null_fd = open("/dev/null", O_RDWR);
      if (null_fd >= 0) {
        dup2(null_fd, 0);
        dup2(null_fd, 1);
        dup2(null_fd, 2);
      }
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp("redis-server", argv.data());
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Ping()) return true;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  bool Ping() const {
    timeval tv{1, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    bool ok = false;
    if (c != nullptr && c->err == 0) {
      auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
      ok = r != nullptr;  // any reply (NOAUTH too): the server is up
      if (r != nullptr) freeReplyObject(r);
    }
    if (c != nullptr) redisFree(c);
    return ok;
  }

 private:
  std::vector<std::string> extra_;
  std::string dir_;
  int port_ = -1;
  pid_t pid_ = -1;
};

}  // namespace embcol::testing

#endif  // EMBCOL_STORAGE_REDIS_TEST_SERVER_H_
