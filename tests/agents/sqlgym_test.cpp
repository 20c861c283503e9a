#include "tessera/agents/sqlgym.h"

#include <gtest/gtest.h>

#include "tessera/agents/episode.h"
#include "tessera/agents/prompts.h"
#include "tessera/core/error.h"

namespace tessera::agents {
namespace {

TEST(SqlGym, TasksAreDeterministicAndObservationsNameSchemaAndQuestion) {
  EXPECT_EQ(generate_sql_task(7).gold_sql, generate_sql_task(7).gold_sql);
  EXPECT_EQ(generate_sql_task(7).inserts, generate_sql_task(7).inserts);
  SqlGymEnvironment env;
  std::string first = env.reset(0);
  EXPECT_EQ(first.rfind("Database schema (SQLite):\nCREATE TABLE customers", 0), 0u) << first;
  EXPECT_NE(first.find("\nQuestion: " + env.sql_task().question), std::string::npos);
}

TEST(SqlGym, GoldAnswerScoresOneAndOtherAnswersZero) {
  SqlGymEnvironment env;
  env.reset(3);
  StepResult gold = env.step(env.sql_task().gold_sql);
  EXPECT_EQ(gold.reward, 1.0);
  EXPECT_TRUE(gold.done);
  EXPECT_EQ(gold.observation.front(), '[');
  EXPECT_THROW(env.step("SELECT 1"), Error);  // one answer per episode
  env.reset(3);
  StepResult wrong = env.step("SELECT 12345");
  EXPECT_EQ(wrong.reward, 0.0);
  EXPECT_EQ(wrong.observation, "[(12345,)]");
}

TEST(SqlGym, EquivalentQueriesAndNumericFormsMatch) {
  SqlGymEnvironment env;
  for (int64_t task = 0; task < 40; ++task) {
    env.reset(task);
    if (env.sql_task().gold_sql.rfind("SELECT COUNT(*)", 0) != 0) continue;
    // COUNT as a float still answers the count (Python's 3 == 3.0).
    std::string as_float = "SELECT CAST(" + env.sql_task().gold_sql.substr(7);
    as_float.replace(as_float.find(" FROM"), 0, " AS REAL)");
    EXPECT_EQ(env.step(as_float).reward, 1.0) << as_float;
    return;
  }
  FAIL() << "no COUNT question in 40 tasks";
}

TEST(SqlGym, StatementsRunReadOnlyAloneAndWithinTheTimeLimit) {
  SqlGymEnvironment env;
  env.set_time_limit(0.2);
  env.reset(0);
  EXPECT_NE(env.run("DELETE FROM customers").error, "");
  EXPECT_NE(env.run("INSERT INTO customers VALUES (99, 'x', 'y', 1)").error, "");
  EXPECT_NE(env.run("ATTACH DATABASE '/etc/passwd' AS p").error, "");
  EXPECT_NE(env.run("PRAGMA query_only = 0").error, "");
  EXPECT_EQ(env.run("SELECT 1; DROP TABLE customers").error,
            "You can only execute one statement at a time.");
  EXPECT_TRUE(env.run("SELECT COUNT(*) FROM customers;").ok);
  EXPECT_NE(env.run("SELEC nonsense").error, "");
  SqlOutcome slow = env.run(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT COUNT(*) FROM n");
  EXPECT_FALSE(slow.ok);
  EXPECT_NE(slow.error.find("time limit"), std::string::npos) << slow.error;
  StepResult error = env.step("SELECT * FROM nowhere");
  EXPECT_EQ(error.observation, "Error: no such table: nowhere");
}

TEST(SqlGym, ExpertSolvesTheTestSplitAndClientParsing) {
  SqlGymEnvironment env;
  auto expert = make_expert("sqlgym");
  for (int64_t task = 0; task < 100; ++task) {
    Episode episode = run_expert_episode(env, task, *expert);
    EXPECT_TRUE(episode.success) << generate_sql_task(task).gold_sql;
  }
  EXPECT_EQ(extract_action("sqlgym", "Thought: x\n\nAction: ```sql\nSELECT 1;\n```"), "SELECT 1;");
  EXPECT_EQ(conversation_start("sqlgym")[1].value, "Ok.");
}

}  // namespace
}  // namespace tessera::agents
