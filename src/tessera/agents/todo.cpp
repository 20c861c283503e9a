#include "tessera/agents/todo.h"

#include <fmt/format.h>

#include <algorithm>

#include "tessera/agents/seeded_random.h"
#include "tessera/core/error.h"

namespace tessera::agents {

namespace {

using Json = nlohmann::ordered_json;

const std::vector<std::string> kProjectNames = {"Homework and Assignments",
                                                "Household Chores",
                                                "Picnic Preparation",
                                                "Garden Makeover",
                                                "Book Club",
                                                "Fitness Plan",
                                                "Trip to Kyoto",
                                                "Science Fair Project",
                                                "Birthday Party",
                                                "Home Office Setup"};
const std::vector<std::string> kTaskNames = {
    "Buy groceries",      "Clean the garage",  "Water the plants",   "Book train tickets",
    "Write the report",   "Call the plumber",  "Pack the suitcase",  "Prepare slides",
    "Bake a cake",        "Send invitations",  "Renew library card", "Fix the bike",
    "Plan the menu",      "Paint the fence",   "Review notes",       "Order supplies",
    "Schedule a checkup", "Read chapter five", "Organize photos",    "Update the budget",
    "Repot the fern",     "Print the tickets", "Sort the recycling", "Draft the agenda"};
const std::vector<std::string> kPlaces = {"Central Library", "Riverside Market", "Home",
                                          "City Park",       "Town Hall",        "Corner Cafe",
                                          "Community Garden"};
const std::vector<std::string> kCities = {"Lisbon", "Osaka", "Quito", "Tallinn", "Accra", "Perth"};

std::string date_in_june(int64_t day) {
  return fmt::format("2024-06-{:02d}", day);
}

Json task_json(const TodoTaskItem& task) {
  return {{"id", task.id},
          {"order", task.order},
          {"content", task.content},
          {"is_completed", task.is_completed},
          {"priority", task.priority},
          {"due_date", task.due_date}};
}

Json project_json(const TodoProject& project) {
  return {{"id", project.id},
          {"order", project.order},
          {"color", "charcoal"},
          {"name", project.name},
          {"is_favorite", project.is_favorite}};
}

Json without_id(Json value) {
  value.erase("id");
  return value;
}

bool truthy(const Json& value) {
  if (value.is_boolean()) return value.get<bool>();
  if (value.is_string()) {
    std::string text = value.get<std::string>();
    return text == "True" || text == "true";
  }
  return false;
}

}  // namespace

std::vector<std::string> TodoEnvironment::tool_names() const {
  return {"get_user_current_date",
          "get_user_current_location",
          "get_projects",
          "update_project",
          "get_tasks",
          "get_task_description",
          "get_task_duration",
          "complete_task",
          "update_task",
          "delete_task",
          "check_valid_actions",
          "finish"};
}

TodoTaskItem* TodoEnvironment::find_task(const std::string& id, TodoProject** owner) {
  for (auto& project : projects_) {
    for (auto& task : project.tasks) {
      if (task.id == id && !task.is_completed) {
        if (owner) *owner = &project;
        return &task;
      }
    }
  }
  return nullptr;
}

Json TodoEnvironment::current_state() const {
  Json projects = Json::array(), tasks = Json::array();
  for (const auto& project : projects_) {
    projects.push_back(without_id(project_json(project)));
    for (const auto& task : project.tasks) {
      if (!task.is_completed) tasks.push_back(without_id(task_json(task)));
    }
  }
  return {{"projects", projects}, {"tasks", tasks}};
}

ToolTask TodoEnvironment::make_task(int64_t task) {
  TESSERA_CHECK_INPUT(task >= 0, "todo: task must be >= 0, got {}", task);
  SeededRandom rng(0x70d0ull ^ (static_cast<uint64_t>(task) * 0x9e3779b97f4a7c15ull));
  projects_.clear();
  current_date_ = "2024-05-30";
  current_location_ = rng.pick(kCities);
  std::vector<std::string> project_names = kProjectNames, task_names = kTaskNames;
  rng.shuffle(project_names);
  rng.shuffle(task_names);
  size_t next_task = 0;
  for (int p = 0; p < 4; ++p) {
    TodoProject project;
    project.id = std::to_string(2203306100 + rng.randint(0, 99) * 100 + p);
    project.order = p + 1;
    project.name = project_names[static_cast<size_t>(p)];
    for (int t = 0; t < 3; ++t) {
      TodoTaskItem item;
      item.id = std::to_string(7400000000 + rng.randint(0, 999999) * 100 + p * 10 + t);
      item.order = t + 1;
      item.content = task_names[next_task++];
      item.priority = static_cast<int>(rng.randint(1, 5));
      item.due_date = date_in_june(rng.randint(1, 29));
      item.duration_minutes = static_cast<int>(rng.randint(1, 9)) * 15;
      item.description = fmt::format("Place: {}. Tips: allow {} minutes.", rng.pick(kPlaces),
                                     item.duration_minutes);
      project.tasks.push_back(item);
    }
    projects_.push_back(project);
  }
  TodoProject& project = projects_[static_cast<size_t>(rng.randint(0, 4))];
  TodoTaskItem& target = project.tasks[static_cast<size_t>(rng.randint(0, 3))];
  ToolTask out;
  Json tasks_listing = Json::array();
  for (const auto& item : project.tasks) tasks_listing.push_back(without_id(task_json(item)));
  out.solution = {{"get_projects", Json::object()}, {"get_tasks", {{"project_id", project.id}}}};
  Json answer;
  switch (rng.randint(0, 7)) {
    case 0:
      out.goal = fmt::format(
          "When is the due date of {} in {}? Please provide the answer in the YYYY-MM-DD format. ",
          target.content, project.name);
      answer = target.due_date;
      break;
    case 1:
      out.goal =
          fmt::format("What is the priority of {} in {}? Please answer with a number from 1 to 4. ",
                      target.content, project.name);
      answer = target.priority;
      break;
    case 2:
      out.goal = fmt::format(
          "How long will the task {} in {} take? Please answer in the format of 'amount(unit)'. ",
          target.content, project.name);
      out.solution.push_back({"get_task_duration", {{"task_id", target.id}}});
      answer = fmt::format("{}(minute)", target.duration_minutes);
      break;
    case 3: {
      out.goal = fmt::format("I have completed the task {} in {}, please mark it as completed. ",
                             target.content, project.name);
      out.solution.push_back({"complete_task", {{"task_id", target.id}}});
      Json completed = without_id(task_json(target));
      completed.erase("is_completed");
      out.subgoals.push_back(Json{{"message", "Complete task successfully."}, {"task", completed}});
      answer = "done";
      break;
    }
    case 4: {
      std::string new_date = date_in_june(rng.randint(1, 29));
      out.goal = fmt::format("Please change the due date of {} in {} to {}. ", target.content,
                             project.name, new_date);
      out.solution.push_back({"update_task", {{"task_id", target.id}, {"due_date", new_date}}});
      Json updated = without_id(task_json(target));
      updated["due_date"] = new_date;
      out.subgoals.push_back(Json{{"message", "Update the task successfully"}, {"task", updated}});
      answer = "done";
      break;
    }
    case 5: {
      out.goal = fmt::format("Please delete the task {} from {}. ", target.content, project.name);
      out.solution.push_back({"delete_task", {{"task_id", target.id}}});
      out.subgoals.push_back(Json{{"message", "Delete the task successfully."},
                                  {"task", without_id(task_json(target))}});
      answer = "done";
      break;
    }
    default: {
      out.goal = fmt::format("Please mark the project {} as a favorite. ", project.name);
      out.solution = {{"get_projects", Json::object()},
                      {"update_project", {{"project_id", project.id}, {"is_favorite", "True"}}}};
      Json favorite = without_id(project_json(project));
      favorite["is_favorite"] = true;
      out.subgoals.push_back(
          Json{{"message", "Update the project successfully."}, {"project", favorite}});
      answer = "done";
      break;
    }
  }
  out.subgoals.push_back(answer);
  out.solution.push_back({"finish", {{"answer", answer}}});
  // The final state is the initial one with the operation applied (computed by replaying the
  // solution on a copy).
  std::vector<TodoProject> initial = projects_;
  for (const auto& [name, input] : out.solution) {
    if (name != "finish") call_tool(name, input);
  }
  out.final_state = current_state();
  projects_ = initial;
  return out;
}

std::pair<bool, Json> TodoEnvironment::call_tool(const std::string& name, const Json& input) {
  auto tools = tool_names();
  if (std::find(tools.begin(), tools.end(), name) == tools.end()) {
    throw ToolFailure{fmt::format("Invalid action: {}.", name)};
  }
  auto id_of = [&](const char* key) {
    const Json& value = required(input, key);
    return value.is_string() ? value.get<std::string>() : value.dump();
  };
  if (name == "get_user_current_date") return {true, current_date_};
  if (name == "get_user_current_location") return {true, current_location_};
  if (name == "get_projects") {
    Json list = Json::array();
    for (const auto& project : projects_) list.push_back(project_json(project));
    return {true, list};
  }
  if (name == "update_project") {
    std::string id = id_of("project_id");
    bool favorite = truthy(required(input, "is_favorite"));
    for (auto& project : projects_) {
      if (project.id == id) {
        project.is_favorite = favorite;
        return {true, Json{{"message", "Update the project successfully."},
                           {"project", project_json(project)}}};
      }
    }
    return {false, fmt::format("Project {} is not exists.", id)};
  }
  if (name == "get_tasks") {
    std::string id = id_of("project_id");
    for (const auto& project : projects_) {
      if (project.id != id) continue;
      Json list = Json::array();
      for (const auto& task : project.tasks) {
        if (!task.is_completed) list.push_back(task_json(task));
      }
      return {true, list};
    }
    return {false, fmt::format("Project {} is not exists.", id)};
  }
  std::string id = id_of("task_id");
  TodoProject* owner = nullptr;
  TodoTaskItem* task = find_task(id, &owner);
  if (!task) return {false, fmt::format("Task {} is not exists.", id)};
  if (name == "get_task_description") {
    return {true,
            Json{{"id", task->id}, {"content", task->content}, {"description", task->description}}};
  }
  if (name == "get_task_duration") {
    return {true, Json{{"id", task->id},
                       {"content", task->content},
                       {"duration", fmt::format("{}(minute)", task->duration_minutes)}}};
  }
  if (name == "complete_task") {
    Json shown = task_json(*task);
    shown.erase("is_completed");
    task->is_completed = true;
    return {true, Json{{"message", "Complete task successfully."}, {"task", shown}}};
  }
  if (name == "update_task") {
    const Json& due = required(input, "due_date");
    task->due_date = due.is_string() ? due.get<std::string>() : due.dump();
    return {true, Json{{"message", "Update the task successfully"}, {"task", task_json(*task)}}};
  }
  if (name == "delete_task") {
    Json shown = task_json(*task);
    owner->tasks.erase(owner->tasks.begin() + (task - owner->tasks.data()));
    return {true, Json{{"message", "Delete the task successfully."}, {"task", shown}}};
  }
  throw ToolFailure{fmt::format("Invalid action: {}.", name)};
}

namespace {
class ToolExpert : public Expert {
 public:
  ExpertMove next(const Environment& env) override {
    const auto* tool = dynamic_cast<const ToolEnvironment*>(&env);
    TESSERA_CHECK(tool != nullptr, "tool expert: not a tool environment");
    const auto& solution = tool->tool_task().solution;
    // Each step of the script is one call; the episode's step count says where we are.
    size_t index = static_cast<size_t>(steps_taken(env));
    TESSERA_CHECK(index < solution.size(), "tool expert: the script is exhausted");
    const auto& [name, input] = solution[index];
    std::string thought;
    if (name == "finish") {
      thought = "I have what the goal asks for, so I finish with the answer.";
    } else if (index == 0) {
      thought = fmt::format("To work on \"{}\" I first call {} to find the ids I need.",
                            tool->tool_task().goal, name);
    } else {
      thought = fmt::format("From the last observation I know the id to use, so I call {}.", name);
    }
    return {thought, name + " with Action Input: " + input.dump()};
  }

 private:
  static int64_t steps_taken(const Environment& env) {
    return static_cast<const ToolEnvironment&>(env).steps();
  }
};
}  // namespace

std::unique_ptr<Expert> make_tool_expert() {
  return std::make_unique<ToolExpert>();
}

}  // namespace tessera::agents
