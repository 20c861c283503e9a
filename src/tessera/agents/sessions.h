#pragma once
// Thread-safe environment sessions for the gym server: ids per environment (0, 1, 2, ...
// as upstream's servers count them), one lock per session so sessions step in parallel, a
// limit on the total number of live sessions, and eviction of sessions left idle.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "tessera/agents/environment.h"

namespace tessera::agents {

struct Session {
  std::mutex mutex;  // held while the environment is used
  std::unique_ptr<Environment> env;
  nlohmann::json extra = nlohmann::json::object();  // per-route state (e.g. a create body)
  std::chrono::steady_clock::time_point last_used;
};

// Thrown by create() when the limit is reached (the server answers 503).
class SessionLimitError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class SessionStore {
 public:
  explicit SessionStore(int64_t max_sessions) : max_sessions_(max_sessions) {}

  // Registers a new session for `env_name` and returns its id.
  int64_t create(const std::string& env_name, std::unique_ptr<Environment> env,
                 nlohmann::json extra = nlohmann::json::object());
  // The session, or nullptr when the id is unknown (never created, closed or evicted).
  std::shared_ptr<Session> find(const std::string& env_name, int64_t id);
  bool close(const std::string& env_name, int64_t id);
  // Removes sessions unused for longer than `ttl`; returns how many. A session in use (its
  // lock held) is never removed under its user: the store only drops its reference.
  size_t evict_idle(std::chrono::steady_clock::duration ttl);
  size_t size() const;
  std::vector<int64_t> ids(const std::string& env_name) const;

 private:
  struct PerEnvironment {
    int64_t next_id = 0;
    std::map<int64_t, std::shared_ptr<Session>> sessions;
  };
  mutable std::mutex mutex_;
  std::map<std::string, PerEnvironment> environments_;
  size_t count_ = 0;
  int64_t max_sessions_;
};

}  // namespace tessera::agents
