// `tessera gym ...`: AgentGym environments. `serve` runs the HTTP server that AgentGym's own
// clients talk to, `trajectories` writes expert demonstrations in AgentTraj form, `run` drives
// a model behind an OpenAI-compatible endpoint through episodes, `envs` lists environments.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "tessera/agents/episode.h"
#include "tessera/agents/experts.h"
#include "tessera/agents/gym_server.h"
#include "tessera/agents/runner.h"
#include "tessera/core/error.h"

namespace tessera::cli {

namespace {

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string name =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!name.empty()) names.push_back(name);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return names;
}

// Writes JSONL lines to PATH.tmp and renames it over PATH at the end, so an interrupted run
// never leaves half a file under the real name.
class JsonlWriter {
 public:
  explicit JsonlWriter(std::string path) : path_(std::move(path)), temporary_(path_ + ".tmp") {
    auto parent = std::filesystem::path(path_).parent_path();
    TESSERA_CHECK_INPUT(parent.empty() || std::filesystem::is_directory(parent),
                        "{}: folder {} does not exist", path_, parent.string());
    out_.open(temporary_, std::ios::binary | std::ios::trunc);
    TESSERA_CHECK_INPUT(out_.good(), "{}: cannot write", temporary_);
  }
  void write(const nlohmann::json& item) {
    out_ << item.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
    TESSERA_CHECK(out_.good(), "{}: write failed", temporary_);
  }
  void commit() {
    out_.close();
    std::filesystem::rename(temporary_, path_);
  }

 private:
  std::string path_, temporary_;
  std::ofstream out_;
};

void add_config_options(CLI::App* command, agents::GymConfig& config) {
  command
      ->add_option("--wordle-words", config.wordle_word_list,
                   "word list for Wordle (five-letter lowercase words are kept)")
      ->capture_default_str();
  command
      ->add_option("--wordle-vocab-size", config.wordle_vocab_size,
                   "use a fixed subset of this many words (0: all)")
      ->check(CLI::NonNegativeNumber);
}

void add_envs(CLI::App& gym) {
  auto* envs = gym.add_subcommand("envs", "list the environments, their tasks and test splits");
  auto json = std::make_shared<bool>(false);
  envs->add_flag("--json", *json, "machine-readable output");
  envs->callback([json] {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& spec : agents::environment_specs()) {
      list.push_back({{"name", spec.name},
                      {"description", spec.description},
                      {"tasks", spec.task_count},
                      {"test_split", {spec.test_begin, spec.test_end}}});
    }
    if (*json || global_options().json) {
      std::printf("%s\n", list.dump(2).c_str());
      return;
    }
    for (const auto& spec : agents::environment_specs()) {
      std::printf("%-10s tasks 0..%-8lld test %lld..%lld  %s\n", spec.name.c_str(),
                  static_cast<long long>(spec.task_count - 1),
                  static_cast<long long>(spec.test_begin),
                  static_cast<long long>(spec.test_end - 1), spec.description.c_str());
    }
  });
}

void add_serve(CLI::App& gym) {
  auto* serve =
      gym.add_subcommand("serve", "serve AgentGym's HTTP API for many environments in one process");
  auto options = std::make_shared<agents::GymServerOptions>();
  auto envs = std::make_shared<std::string>();
  serve->add_option("--envs", *envs, "comma-separated environments (default: all)");
  serve->add_option("--host", options->host, "address to listen on")->capture_default_str();
  serve->add_option("--port", options->port, "port (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  serve
      ->add_option("--max-sessions", options->max_sessions,
                   "live sessions over all environments; more get 503")
      ->capture_default_str();
  serve
      ->add_option("--idle-ttl", options->idle_ttl_seconds,
                   "seconds before an unused session is removed")
      ->capture_default_str();
  serve
      ->add_option("--http-threads", options->http_threads,
                   "connection threads (one per open client)")
      ->capture_default_str();
  add_config_options(serve, options->config);
  serve->callback([options, envs] {
    options->envs = split_names(*envs);
    agents::GymServer server(*options);
    int port = server.bind();
    std::string names;
    for (const auto& name : server.envs()) names += (names.empty() ? "" : ",") + name;
    std::fprintf(stderr, "gym serve: listening on http://%s:%d (envs: %s; routes /<env>/...)\n",
                 options->host.c_str(), port, names.c_str());
    std::fflush(stderr);
    server.serve();
  });
}

void add_trajectories(CLI::App& gym) {
  struct Options {
    std::string env;
    int64_t n = 0;
    int64_t first_task = 0;
    std::string out;
    int max_rounds = 100;
    bool json = false;
    agents::GymConfig config;
  };
  auto options = std::make_shared<Options>();
  auto* command = gym.add_subcommand("trajectories", "write expert trajectories (AgentTraj JSONL)");
  command->add_option("--env", options->env, "environment")->required();
  command->add_option("--n", options->n, "number of episodes")
      ->required()
      ->check(CLI::PositiveNumber);
  command->add_option("--first-task", options->first_task, "first task id (tasks first..first+n-1)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  command->add_option("--out", options->out, "output .jsonl file")->required();
  command->add_option("--max-rounds", options->max_rounds, "round limit per episode")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  command->add_flag("--json", options->json, "machine-readable summary");
  add_config_options(command, options->config);
  command->callback([options] {
    const auto& spec = agents::find_environment(options->env);
    TESSERA_CHECK_INPUT(options->first_task + options->n <= spec.task_count,
                        "--env {} has tasks 0..{}; --first-task {} --n {} asks for more", spec.name,
                        spec.task_count - 1, options->first_task, options->n);
    auto env = spec.make(options->config);
    auto expert = agents::make_expert(spec.name);
    JsonlWriter writer(options->out);
    int64_t successes = 0, rounds = 0;
    for (int64_t i = 0; i < options->n; ++i) {
      auto episode =
          agents::run_expert_episode(*env, options->first_task + i, *expert, options->max_rounds);
      successes += episode.success ? 1 : 0;
      rounds += episode.rounds;
      writer.write(agents::to_agent_traj(episode));
    }
    writer.commit();
    double rate = static_cast<double>(successes) / static_cast<double>(options->n);
    double mean_rounds = static_cast<double>(rounds) / static_cast<double>(options->n);
    if (options->json || global_options().json) {
      nlohmann::json summary = {{"env", spec.name},           {"episodes", options->n},
                                {"successes", successes},     {"success_rate", rate},
                                {"mean_rounds", mean_rounds}, {"out", options->out}};
      std::printf("%s\n", summary.dump().c_str());
    } else {
      std::printf("%s: %lld expert trajectories -> %s (success %.1f%%, %.2f rounds on average)\n",
                  spec.name.c_str(), static_cast<long long>(options->n), options->out.c_str(),
                  100 * rate, mean_rounds);
    }
  });
}

void add_run(CLI::App& gym) {
  auto options = std::make_shared<agents::RunnerOptions>();
  auto envs = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto seed = std::make_shared<int64_t>(-1);
  auto* run = gym.add_subcommand(
      "run", "drive a model behind an OpenAI-compatible endpoint through episodes");
  run->add_option("--env", *envs, "environment, or several separated by commas")->required();
  run->add_option("--endpoint", options->endpoint,
                  "OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1")
      ->required();
  run->add_option("--model", options->model, "model name sent with each request")
      ->capture_default_str();
  run->add_option("--api-key", options->api_key, "bearer key (default: $OPENAI_API_KEY)");
  run->add_option("--episodes", options->episodes, "episodes per environment")
      ->required()
      ->check(CLI::PositiveNumber);
  run->add_option("--max-rounds", options->max_rounds, "model turns per episode")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  run->add_option("--first-task", options->first_task,
                  "first task id (default: the test split's start)");
  run->add_option("--temperature", options->temperature, "sampling temperature")
      ->capture_default_str();
  run->add_option("--max-tokens", options->max_tokens, "tokens per answer")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  run->add_option("--seed", *seed, "sampling seed sent to the endpoint");
  run->add_option("--timeout", options->timeout_seconds, "seconds to wait for one answer")
      ->capture_default_str();
  run->add_option("--out", *out, "write the trajectories here (AgentTraj JSONL)");
  run->add_flag("--json", *json, "machine-readable summary");
  add_config_options(run, options->config);
  run->callback([options, envs, out, json, seed] {
    if (options->api_key.empty()) {
      if (const char* key = std::getenv("OPENAI_API_KEY")) options->api_key = key;
    }
    if (*seed >= 0) options->seed = *seed;
    auto names = split_names(*envs);
    TESSERA_CHECK_INPUT(!names.empty(), "--env: no environment named");
    for (const auto& name : names) agents::find_environment(name);
    std::unique_ptr<JsonlWriter> writer;
    if (!out->empty()) writer = std::make_unique<JsonlWriter>(*out);
    nlohmann::json summaries = nlohmann::json::array();
    for (const auto& name : names) {
      options->env = name;
      auto summary = agents::run_model(*options, [&](const agents::Episode& episode) {
        if (writer) writer->write(agents::to_agent_traj(episode));
      });
      summaries.push_back({{"env", summary.env},
                           {"episodes", summary.episodes},
                           {"success_rate", summary.success_rate()},
                           {"mean_reward", summary.mean_reward},
                           {"mean_rounds", summary.mean_rounds},
                           {"failed_episodes", summary.failed_episodes}});
      if (!(*json || global_options().json)) {
        std::printf("%-10s episodes %d  success %.1f%%  mean reward %.3f  mean rounds %.1f%s\n",
                    summary.env.c_str(), summary.episodes, 100 * summary.success_rate(),
                    summary.mean_reward, summary.mean_rounds,
                    summary.failed_episodes
                        ? fmt::format("  ({} ended by endpoint errors: {})",
                                      summary.failed_episodes, summary.first_error)
                              .c_str()
                        : "");
      }
    }
    if (writer) writer->commit();
    if (*json || global_options().json) std::printf("%s\n", summaries.dump().c_str());
  });
}

}  // namespace

void add_gym_commands(CLI::App& app) {
  auto* gym =
      app.add_subcommand("gym", "AgentGym environments: serve, expert trajectories, model runs");
  gym->require_subcommand(1);
  add_envs(*gym);
  add_serve(*gym);
  add_trajectories(*gym);
  add_run(*gym);
}

}  // namespace tessera::cli
