#pragma once
// SQLGym (AgentGym's agentenv-sqlgym over BIRD), with generated data: each task builds a small
// SQLite database (one of a few schemas, rows drawn from the task's seed) and asks a
// natural-language question that has a gold SQL query. The agent answers with one SQL
// statement; it runs read-only (writes, ATTACH and extensions refused) under a time limit,
// and the reward is 1 when its result set equals the gold query's. One answer ends the
// episode, as in upstream.
#include <memory>
#include <string>
#include <vector>

#include "tessera/agents/environment.h"
#include "tessera/agents/experts.h"

struct sqlite3;

namespace tessera::agents {

struct SqlTask {
  std::vector<std::string> schema;   // CREATE TABLE statements
  std::vector<std::string> inserts;  // the generated rows
  std::string question;
  std::string gold_sql;
};

// Task `task` (deterministic).
SqlTask generate_sql_task(int64_t task);

// The outcome of running one statement.
struct SqlOutcome {
  bool ok = false;
  std::string error;
  std::vector<std::vector<std::string>> rows;  // values as text (NULL as "None")
  // Python's repr of the rows as a list of tuples, as upstream prints execution results.
  std::string repr() const;
};

class SqlGymEnvironment : public Environment {
 public:
  SqlGymEnvironment();
  ~SqlGymEnvironment() override;

  std::string name() const override { return "sqlgym"; }
  std::string reset(int64_t task) override;
  StepResult step(const std::string& action) override;
  std::string observation() const override { return observation_; }
  std::vector<std::string> available_actions() const override { return {}; }

  const SqlTask& sql_task() const { return task_; }
  // Runs `sql` against the current database read-only (what step does, without scoring).
  SqlOutcome run(const std::string& sql) const;

  // Seconds one statement may run (2 by default).
  void set_time_limit(double seconds) { time_limit_seconds_ = seconds; }
  static constexpr size_t kMaxRows = 10000;

 private:
  SqlTask task_;
  sqlite3* db_ = nullptr;
  SqlOutcome gold_;
  std::string observation_;
  double time_limit_seconds_ = 2.0;
};

std::unique_ptr<Expert> make_sqlgym_expert();

}  // namespace tessera::agents
