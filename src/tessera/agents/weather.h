#pragma once
// AgentGym's Weather environment (agentenv-tool's weather, Open-Meteo upstream) over
// generated data: a fixed set of cities with real coordinates, and daily temperature, rain,
// snow and air quality drawn deterministically from (place, date), so a question has one
// answer. The tool set and result shapes follow upstream's prompt; goals are questions
// answered with `finish`.
#include <string>
#include <vector>

#include "tessera/agents/tool_env.h"

namespace tessera::agents {

class WeatherEnvironment : public ToolEnvironment {
 public:
  std::string name() const override { return "weather"; }

 protected:
  ToolTask make_task(int64_t task) override;
  std::pair<bool, nlohmann::ordered_json> call_tool(const std::string& name,
                                                    const nlohmann::ordered_json& input) override;
  std::vector<std::string> tool_names() const override;
  nlohmann::ordered_json current_state() const override { return nlohmann::ordered_json::object(); }

 private:
  std::string current_date_;
  std::string current_location_;
};

}  // namespace tessera::agents
