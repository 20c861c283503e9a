#pragma once
// AgentGym's Todo environment (agentenv-tool's todo, a Todoist account upstream) over a
// generated, in-memory account: projects with tasks (due dates, priorities, durations,
// descriptions), the upstream tool set and result shapes, and goals that are questions
// ("When is the due date of ...?") or operations ("please mark it as completed").
#include <string>
#include <vector>

#include "tessera/agents/experts.h"
#include "tessera/agents/tool_env.h"

namespace tessera::agents {

struct TodoTaskItem {
  std::string id;
  int order = 0;
  std::string content;
  bool is_completed = false;
  int priority = 1;
  std::string due_date;
  std::string description;
  int duration_minutes = 30;
};

struct TodoProject {
  std::string id;
  int order = 0;
  std::string name;
  bool is_favorite = false;
  std::vector<TodoTaskItem> tasks;
};

class TodoEnvironment : public ToolEnvironment {
 public:
  std::string name() const override { return "todo"; }
  const std::vector<TodoProject>& projects() const { return projects_; }

 protected:
  ToolTask make_task(int64_t task) override;
  std::pair<bool, nlohmann::ordered_json> call_tool(const std::string& name,
                                                    const nlohmann::ordered_json& input) override;
  std::vector<std::string> tool_names() const override;
  nlohmann::ordered_json current_state() const override;

 private:
  TodoTaskItem* find_task(const std::string& id, TodoProject** owner = nullptr);
  std::vector<TodoProject> projects_;
  std::string current_date_;
  std::string current_location_;
};

// Plays the task's scripted tool calls.
std::unique_ptr<Expert> make_tool_expert();

}  // namespace tessera::agents
