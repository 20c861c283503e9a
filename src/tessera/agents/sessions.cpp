#include "tessera/agents/sessions.h"

#include <fmt/format.h>

namespace tessera::agents {

int64_t SessionStore::create(const std::string& env_name, std::unique_ptr<Environment> env,
                             nlohmann::json extra) {
  auto session = std::make_shared<Session>();
  session->env = std::move(env);
  session->extra = std::move(extra);
  session->last_used = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (max_sessions_ > 0 && static_cast<int64_t>(count_) >= max_sessions_) {
    throw SessionLimitError(fmt::format(
        "session limit reached ({} live sessions); close sessions or wait for idle ones to expire",
        max_sessions_));
  }
  auto& per_env = environments_[env_name];
  int64_t id = per_env.next_id++;
  per_env.sessions.emplace(id, std::move(session));
  ++count_;
  return id;
}

std::shared_ptr<Session> SessionStore::find(const std::string& env_name, int64_t id) {
  std::lock_guard lock(mutex_);
  auto env_it = environments_.find(env_name);
  if (env_it == environments_.end()) return nullptr;
  auto it = env_it->second.sessions.find(id);
  if (it == env_it->second.sessions.end()) return nullptr;
  return it->second;
}

bool SessionStore::close(const std::string& env_name, int64_t id) {
  std::lock_guard lock(mutex_);
  auto env_it = environments_.find(env_name);
  if (env_it == environments_.end()) return false;
  if (env_it->second.sessions.erase(id) == 0) return false;
  --count_;
  return true;
}

size_t SessionStore::evict_idle(std::chrono::steady_clock::duration ttl) {
  auto now = std::chrono::steady_clock::now();
  size_t evicted = 0;
  std::lock_guard lock(mutex_);
  for (auto& [name, per_env] : environments_) {
    for (auto it = per_env.sessions.begin(); it != per_env.sessions.end();) {
      Session& session = *it->second;
      std::unique_lock session_lock(session.mutex, std::try_to_lock);
      if (session_lock.owns_lock() && now - session.last_used > ttl) {
        session_lock.unlock();
        it = per_env.sessions.erase(it);
        ++evicted;
      } else {
        ++it;
      }
    }
  }
  count_ -= evicted;
  return evicted;
}

size_t SessionStore::size() const {
  std::lock_guard lock(mutex_);
  return count_;
}

std::vector<int64_t> SessionStore::ids(const std::string& env_name) const {
  std::lock_guard lock(mutex_);
  std::vector<int64_t> out;
  auto env_it = environments_.find(env_name);
  if (env_it == environments_.end()) return out;
  for (const auto& entry : env_it->second.sessions) out.push_back(entry.first);
  return out;
}

}  // namespace tessera::agents
