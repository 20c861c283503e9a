// LMRL-Gym's server (agentenv-lmrlgym/server.py): /maze/* and /wordle/*. Answers mirror
// upstream's dicts, including its habit of answering errors as {"error": ...} with status 200
// and of refusing every call but reset on a finished episode.
#include <fmt/format.h>

#include "tessera/agents/maze.h"
#include "tessera/agents/server_routes.h"
#include "tessera/agents/wordle.h"

namespace tessera::agents::routes {

namespace {

// upstream's _check_id: unknown ids and finished episodes are refused, except for reset.
Environment& checked(Session& session, int64_t id, bool for_reset) {
  Environment& env = *session.env;
  if (!for_reset && env.done()) {
    throw EnvError(fmt::format("The task with environment {} has finished.", id));
  }
  if (!for_reset && !env.has_started()) {
    throw EnvError(fmt::format("The environment {} has not been reset.", id));
  }
  return env;
}

nlohmann::json step_answer(const StepResult& result) {
  return {{"observation", result.observation}, {"reward", result.reward}, {"done", result.done}};
}

}  // namespace

void add_lmrlgym_routes(Router& router, const std::string& env_name) {
  const std::string base = "/" + env_name;
  const bool is_maze = env_name == "maze";

  router.post(
      base + "/create",
      [&router, env_name](const Request&) -> nlohmann::json {
        int64_t id =
            router.sessions().create(env_name, make_environment(env_name, router.config()));
        return {{"id", id}};
      },
      false);

  router.post(base + "/step", [&router, env_name](const Request& request) -> nlohmann::json {
    int64_t id = request.body_int("id");
    std::string action = request.body_string("action");
    return router.with_session(env_name, id, [&](Session& session) {
      return step_answer(checked(session, id, false).step(action));
    });
  });

  router.post(base + "/reset",
              [&router, env_name, is_maze](const Request& request) -> nlohmann::json {
                int64_t id = request.body_int("id");
                int64_t task = request.body_int(is_maze ? "game" : "seed");
                return router.with_session(env_name, id, [&](Session& session) -> nlohmann::json {
                  Environment& env = checked(session, id, true);
                  std::string observation = env.reset(task);
                  if (is_maze) return {{"observation", observation}};
                  return {{"id", id}, {"observation", observation}};
                });
              });

  router.get(base + "/observation", [&router, env_name](const Request& request) -> nlohmann::json {
    int64_t id = request.query_int("id");
    return router.with_session(env_name, id, [&](Session& session) -> nlohmann::json {
      return checked(session, id, false).observation();
    });
  });

  router.get(base + "/detail",
             [&router, env_name, is_maze](const Request& request) -> nlohmann::json {
               int64_t id = request.query_int("id");
               return router.with_session(env_name, id, [&](Session& session) -> nlohmann::json {
                 Environment& env = *session.env;
                 if (env.done())
                   throw EnvError(fmt::format("The task with environment {} has finished.", id));
                 nlohmann::json info = {
                     {"done", env.done()}, {"reward", env.total_reward()}, {"deleted", false}};
                 if (env.has_started()) {
                   info["observation"] = env.observation();
                   if (is_maze) {
                     info["maze_name"] = "double_t_maze";
                   } else {
                     info["seed"] = env.task();
                   }
                 }
                 return info;
               });
             });

  if (is_maze) {
    router.get(base + "/available_actions", [](const Request&) -> nlohmann::json {
      const auto& actions = MazeEnvironment::actions();
      return nlohmann::json(std::vector<std::string>(actions.begin(), actions.end()));
    });
  } else {
    router.get(base + "/filtered_vocab",
               [&router, env_name](const Request& request) -> nlohmann::json {
                 int64_t id = request.query_int("id");
                 return router.with_session(env_name, id, [&](Session& session) -> nlohmann::json {
                   Environment& env = *session.env;
                   if (env.done())
                     throw EnvError(fmt::format("The task with environment {} has finished.", id));
                   return dynamic_cast<WordleEnvironment&>(env).filtered_vocabulary();
                 });
               });
  }

  // Not in upstream's LMRL-Gym server (its sessions live until the process ends); Tessera adds
  // close so clients can free a session before the idle timeout does.
  router.post(base + "/close", [&router, env_name](const Request& request) -> nlohmann::json {
    int64_t id = request.body_int("id");
    if (!router.sessions().close(env_name, id))
      throw EnvError(fmt::format("The id {} is not valid.", id));
    return {{"closed", true}};
  });
}

}  // namespace tessera::agents::routes
