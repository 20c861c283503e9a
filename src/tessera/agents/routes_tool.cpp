// The tool environments' servers (agentenv-tool's todo_server.py, weather_server.py) under
// /todo and /weather: create takes the task id and answers the bare session id (env_idx);
// reset answers the observation string; step answers observation/reward/done.
#include <fmt/format.h>

#include "tessera/agents/server_routes.h"

namespace tessera::agents::routes {

void add_tool_routes(Router& router, const std::string& name) {
  const std::string base = "/" + name;
  router.get(base + "/", [](const Request&) -> nlohmann::json { return "ok"; });
  router.get(base + "/list_envs", [&router, name](const Request&) -> nlohmann::json {
    return router.sessions().ids(name);
  });
  router.post(
      base + "/create",
      [&router, name](const Request& request) -> nlohmann::json {
        int64_t task = request.optional_body_int("id").value_or(0);
        auto env = make_environment(name, router.config());
        env->reset(task);  // upstream builds the environment for its task at create
        return router.sessions().create(name, std::move(env));
      },
      false);
  router.post(base + "/reset", [&router, name](const Request& request) -> nlohmann::json {
    int64_t id = request.body_int("env_idx");
    auto task = request.optional_body_int("id");
    return router.with_session(name, id, [&](Session& session) -> nlohmann::json {
      return session.env->reset(task.value_or(session.env->task()));
    });
  });
  router.post(base + "/step", [&router, name](const Request& request) -> nlohmann::json {
    int64_t id = request.body_int("env_idx");
    std::string action = request.body_string("action");
    return router.with_session(name, id, [&](Session& session) -> nlohmann::json {
      StepResult result = session.env->step(action);
      return {
          {"observation", result.observation}, {"reward", result.reward}, {"done", result.done}};
    });
  });
  router.get(base + "/observation", [&router, name](const Request& request) -> nlohmann::json {
    int64_t id = request.query_int("env_idx");
    return router.with_session(
        name, id, [](Session& session) -> nlohmann::json { return session.env->observation(); });
  });
  router.post(base + "/close", [&router, name](const Request& request) -> nlohmann::json {
    return router.sessions().close(name, request.body_int("env_idx"));
  });
}

}  // namespace tessera::agents::routes
