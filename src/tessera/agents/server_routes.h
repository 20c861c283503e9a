#pragma once
// The machinery the per-environment route files share: a router that parses and validates
// request bodies the way FastAPI does (422 with a `detail` list), turns environment errors
// into upstream's `{"error": "..."}` answers (HTTP 200, as AgentGym's servers send them), a
// full session table into 503, and anything unexpected into 500, never a crash.
#include <httplib.h>

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "tessera/agents/environment.h"
#include "tessera/agents/sessions.h"

namespace tessera::agents::routes {

// A request that does not match the route's schema (answered 422).
struct ValidationError {
  nlohmann::json detail;
};

// An error upstream answers as {"error": message} with status 200.
class EnvError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Request {
  const httplib::Request& http;
  nlohmann::json body;  // the parsed JSON body of a POST (an object), null for GET

  int64_t body_int(const std::string& field) const;
  std::optional<int64_t> optional_body_int(const std::string& field) const;
  std::string body_string(const std::string& field) const;
  std::optional<std::string> optional_body_string(const std::string& field) const;
  int64_t query_int(const std::string& name) const;
};

// Thrown by a handler whose answer has a status other than 200.
struct Reply {
  int status = 200;
  nlohmann::json body;
};

class Router {
 public:
  using Handler = std::function<nlohmann::json(const Request&)>;
  Router(httplib::Server& server, SessionStore& sessions, const GymConfig& config)
      : server_(server), sessions_(sessions), config_(config) {}

  // POST handlers get a parsed JSON object body; `body_required` false accepts an empty body
  // (LMRL-Gym's /create takes none).
  void post(const std::string& path, Handler handler, bool body_required = true);
  void get(const std::string& path, Handler handler);

  SessionStore& sessions() { return sessions_; }
  const GymConfig& config() const { return config_; }

  // Runs `use` on the session under its lock; throws EnvError "The id N is not valid." for an
  // unknown id, as upstream words it.
  template <typename Fn>
  auto with_session(const std::string& env_name, int64_t id, Fn&& use) {
    auto session = sessions_.find(env_name, id);
    if (!session) throw EnvError("The id " + std::to_string(id) + " is not valid.");
    std::lock_guard lock(session->mutex);
    session->last_used = std::chrono::steady_clock::now();
    return use(*session);
  }

 private:
  void handle(const httplib::Request& http, httplib::Response& response, const Handler& handler,
              bool is_post, bool body_required);
  httplib::Server& server_;
  SessionStore& sessions_;
  const GymConfig& config_;
};

// Each environment family's routes (one file each).
void add_lmrlgym_routes(Router& router, const std::string& env_name);
void add_textcraft_routes(Router& router);
void add_sqlgym_routes(Router& router);
void add_babyai_routes(Router& router);
void add_tool_routes(Router& router, const std::string& env_name);

}  // namespace tessera::agents::routes
