#include "tessera/agents/sqlgym.h"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>

#include "tessera/agents/seeded_random.h"
#include "tessera/core/error.h"

namespace tessera::agents {

namespace {

// One database shape: people, things, and a table linking them (orders, enrollments, loans).
struct SchemaFamily {
  const char* person_table;
  const char* person_singular;
  const char* item_table;
  const char* item_singular;
  const char* item_label;
  const char* item_group;
  const char* item_value;
  const char* link_table;
  const char* link_singular;
  const char* link_amount;
  const char* link_date;
  std::vector<std::string> groups;
  std::vector<std::string> label_words;
};

const std::vector<SchemaFamily>& families() {
  static const std::vector<SchemaFamily> list = {
      {"customers",
       "customer",
       "products",
       "product",
       "name",
       "category",
       "price",
       "orders",
       "order",
       "quantity",
       "order_date",
       {"garden", "kitchen", "toys", "books", "sports"},
       {"lamp", "kettle", "rake", "kite", "puzzle", "racket", "novel", "blender", "shovel", "ball",
        "atlas", "mug", "drone", "tent", "skates", "whisk"}},
      {"students",
       "student",
       "courses",
       "course",
       "title",
       "department",
       "credits",
       "enrollments",
       "enrollment",
       "grade",
       "term",
       {"physics", "history", "biology", "music", "economics"},
       {"optics", "mechanics", "genetics", "harmony", "trade", "ecology", "empires", "acoustics",
        "markets", "cells", "rhythm", "revolutions", "waves", "evolution", "banking",
        "composition"}},
      {"members",
       "member",
       "books",
       "book",
       "title",
       "genre",
       "pages",
       "loans",
       "loan",
       "days",
       "loan_date",
       {"mystery", "poetry", "travel", "science", "fantasy"},
       {"river", "lantern", "orchard", "compass", "harbor", "meadow", "ember", "glacier", "canyon",
        "willow", "falcon", "atlas", "tide", "summit", "thicket", "quarry"}},
  };
  return list;
}

const std::vector<std::string> kFirstNames = {
    "Alice", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro",  "Ines",
    "Jonas", "Kira",  "Luis",  "Maya",   "Nils",  "Olga",  "Pavel", "Quinn", "Rosa",
    "Sami",  "Tara",  "Umar",  "Vera",   "Wes",   "Xena",  "Yusuf", "Zoe"};
const std::vector<std::string> kCities = {"Lisbon", "Osaka", "Quito", "Tallinn", "Accra", "Perth"};

std::string sql_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

struct Deadline {
  std::chrono::steady_clock::time_point until;
};

int stop_when_late(void* data) {
  return std::chrono::steady_clock::now() > static_cast<Deadline*>(data)->until ? 1 : 0;
}

// Queries from the agent may read tables, nothing else.
int authorize(void*, int action, const char*, const char*, const char*, const char*) {
  switch (action) {
    case SQLITE_SELECT:
    case SQLITE_READ:
    case SQLITE_FUNCTION:
    case SQLITE_RECURSIVE:
      return SQLITE_OK;
    default:
      return SQLITE_DENY;
  }
}

std::string python_float(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".en") == std::string::npos) text += ".0";
  return text;
}

void exec_or_throw(sqlite3* db, const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    throw runtime_error("sqlgym: building the database failed: {} ({})", text, sql);
  }
}

// Cells as Python would print them, plus a key under which equal values compare equal
// (3 and 3.0 are the same answer, as in Python's set comparison).
struct Cell {
  std::string repr;
  std::string key;
};

}  // namespace

std::string SqlOutcome::repr() const {
  std::string out = "[";
  for (size_t r = 0; r < rows.size(); ++r) {
    out += r ? ", (" : "(";
    for (size_t c = 0; c < rows[r].size(); ++c) out += (c ? ", " : "") + rows[r][c];
    out += rows[r].size() == 1 ? ",)" : ")";
  }
  return out + "]";
}

SqlTask generate_sql_task(int64_t task) {
  TESSERA_CHECK_INPUT(task >= 0, "sqlgym: task must be >= 0, got {}", task);
  SeededRandom rng(0x5a1c0ffeeull ^ (static_cast<uint64_t>(task) * 0x9e3779b97f4a7c15ull));
  const SchemaFamily& f =
      families()[static_cast<size_t>(task % static_cast<int64_t>(families().size()))];
  SqlTask out;
  out.schema = {
      fmt::format("CREATE TABLE {} ({}_id INTEGER PRIMARY KEY, name TEXT, city TEXT, age INTEGER);",
                  f.person_table, f.person_singular),
      fmt::format("CREATE TABLE {} ({}_id INTEGER PRIMARY KEY, {} TEXT, {} TEXT, {} INTEGER);",
                  f.item_table, f.item_singular, f.item_label, f.item_group, f.item_value),
      fmt::format("CREATE TABLE {} ({}_id INTEGER PRIMARY KEY, {}_id INTEGER, {}_id INTEGER, {} "
                  "INTEGER, {} TEXT);",
                  f.link_table, f.link_singular, f.person_singular, f.item_singular, f.link_amount,
                  f.link_date)};

  std::vector<std::string> names = kFirstNames;
  rng.shuffle(names);
  names.resize(static_cast<size_t>(rng.randint(10, 17)));
  std::vector<std::string> people_cities;
  for (size_t i = 0; i < names.size(); ++i) {
    std::string city = rng.pick(kCities);
    people_cities.push_back(city);
    out.inserts.push_back(fmt::format("INSERT INTO {} VALUES ({}, {}, {}, {});", f.person_table,
                                      i + 1, sql_quote(names[i]), sql_quote(city),
                                      rng.randint(18, 71)));
  }
  std::vector<std::string> labels = f.label_words;
  rng.shuffle(labels);
  labels.resize(static_cast<size_t>(rng.randint(8, 13)));
  for (size_t i = 0; i < labels.size(); ++i) {
    out.inserts.push_back(fmt::format("INSERT INTO {} VALUES ({}, {}, {}, {});", f.item_table,
                                      i + 1, sql_quote(labels[i]), sql_quote(rng.pick(f.groups)),
                                      rng.randint(1, 60) * 5));
  }
  int links = static_cast<int>(rng.randint(20, 41));
  for (int i = 0; i < links; ++i) {
    out.inserts.push_back(
        fmt::format("INSERT INTO {} VALUES ({}, {}, {}, {}, '2024-{:02d}-{:02d}');", f.link_table,
                    i + 1, rng.randint(1, static_cast<int64_t>(names.size()) + 1),
                    rng.randint(1, static_cast<int64_t>(labels.size()) + 1), rng.randint(1, 10),
                    rng.randint(1, 13), rng.randint(1, 29)));
  }

  std::string city = rng.pick(kCities);
  std::string person = rng.pick(names);
  std::string label = rng.pick(labels);
  std::string group = rng.pick(f.groups);
  int64_t threshold = rng.randint(4, 50) * 5;
  std::string join_person = fmt::format("{0} JOIN {1} ON {0}.{2}_id = {1}.{2}_id", f.link_table,
                                        f.person_table, f.person_singular);
  std::string join_item = fmt::format("{0} JOIN {1} ON {0}.{2}_id = {1}.{2}_id", f.link_table,
                                      f.item_table, f.item_singular);
  switch (rng.randint(0, 8)) {
    case 0:
      out.question = fmt::format("How many {} live in {}?", f.person_table, city);
      out.gold_sql =
          fmt::format("SELECT COUNT(*) FROM {} WHERE city = {};", f.person_table, sql_quote(city));
      break;
    case 1:
      out.question = fmt::format("Which {} are the oldest? List their names.", f.person_table);
      out.gold_sql = fmt::format("SELECT name FROM {0} WHERE age = (SELECT MAX(age) FROM {0});",
                                 f.person_table);
      break;
    case 2:
      out.question = fmt::format("List the {} of the {} whose {} is greater than {}.", f.item_label,
                                 f.item_table, f.item_value, threshold);
      out.gold_sql = fmt::format("SELECT {} FROM {} WHERE {} > {};", f.item_label, f.item_table,
                                 f.item_value, threshold);
      break;
    case 3:
      out.question = fmt::format("What is the average {} of the {} in the {} {}?", f.item_value,
                                 f.item_table, group, f.item_group);
      out.gold_sql = fmt::format("SELECT AVG({}) FROM {} WHERE {} = {};", f.item_value,
                                 f.item_table, f.item_group, sql_quote(group));
      break;
    case 4:
      out.question = fmt::format("How many {} does the {} named {} have?", f.link_table,
                                 f.person_singular, person);
      out.gold_sql = fmt::format("SELECT COUNT(*) FROM {} WHERE {}.name = {};", join_person,
                                 f.person_table, sql_quote(person));
      break;
    case 5:
      out.question = fmt::format("What is the total {} over all {} of the {} '{}'?", f.link_amount,
                                 f.link_table, f.item_singular, label);
      out.gold_sql =
          fmt::format("SELECT SUM({}.{}) FROM {} WHERE {}.{} = {};", f.link_table, f.link_amount,
                      join_item, f.item_table, f.item_label, sql_quote(label));
      break;
    case 6:
      out.question = fmt::format("Which city has the most {}? Give every city tied for the most.",
                                 f.person_table);
      out.gold_sql = fmt::format(
          "SELECT city FROM {0} GROUP BY city HAVING COUNT(*) = (SELECT MAX(n) FROM (SELECT "
          "COUNT(*) AS n FROM {0} "
          "GROUP BY city));",
          f.person_table);
      break;
    default:
      out.question = fmt::format("List the distinct names of {} from {} who have at least one {}.",
                                 f.person_table, city, f.link_singular);
      out.gold_sql = fmt::format("SELECT DISTINCT {}.name FROM {} WHERE {}.city = {};",
                                 f.person_table, join_person, f.person_table, sql_quote(city));
      break;
  }
  return out;
}

SqlGymEnvironment::SqlGymEnvironment() = default;

SqlGymEnvironment::~SqlGymEnvironment() {
  if (db_) sqlite3_close(db_);
}

std::string SqlGymEnvironment::reset(int64_t task) {
  task_ = generate_sql_task(task);
  if (db_) sqlite3_close(db_);
  db_ = nullptr;
  TESSERA_CHECK(sqlite3_open_v2(":memory:", &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                nullptr) == SQLITE_OK,
                "sqlgym: cannot open an in-memory database");
  exec_or_throw(db_, "BEGIN;");
  for (const auto& statement : task_.schema) exec_or_throw(db_, statement);
  for (const auto& statement : task_.inserts) exec_or_throw(db_, statement);
  exec_or_throw(db_, "COMMIT;");
  // From here on the connection only reads: query_only refuses writes, the authorizer
  // refuses everything but reading (ATTACH included, so no other file can be opened).
  exec_or_throw(db_, "PRAGMA query_only = 1;");
  sqlite3_set_authorizer(db_, authorize, nullptr);
  gold_ = run(task_.gold_sql);
  TESSERA_CHECK(gold_.ok, "sqlgym: gold query of task {} failed: {}", task, gold_.error);
  begin_episode(task);
  std::string schema;
  for (const auto& statement : task_.schema) schema += statement + "\n";
  observation_ = fmt::format("Database schema (SQLite):\n{}\nQuestion: {}", schema, task_.question);
  return observation_;
}

SqlOutcome SqlGymEnvironment::run(const std::string& sql) const {
  SqlOutcome outcome;
  TESSERA_CHECK(db_ != nullptr, "sqlgym: no database (reset first)");
  sqlite3_stmt* statement = nullptr;
  const char* tail = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &statement, &tail) !=
      SQLITE_OK) {
    outcome.error = sqlite3_errmsg(db_);
    sqlite3_finalize(statement);
    return outcome;
  }
  if (!statement) {
    outcome.error = "no SQL statement";
    return outcome;
  }
  std::string rest = tail ? std::string(tail) : "";
  if (rest.find_first_not_of(" \t\r\n;") != std::string::npos) {
    sqlite3_finalize(statement);
    outcome.error = "You can only execute one statement at a time.";
    return outcome;
  }
  if (!sqlite3_stmt_readonly(statement)) {
    sqlite3_finalize(statement);
    outcome.error = "attempt to write a readonly database";
    return outcome;
  }
  Deadline deadline{std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(time_limit_seconds_))};
  sqlite3_progress_handler(db_, 1000, stop_when_late, &deadline);
  int columns = sqlite3_column_count(statement);
  int status;
  while ((status = sqlite3_step(statement)) == SQLITE_ROW) {
    if (outcome.rows.size() >= kMaxRows) {
      status = SQLITE_TOOBIG;
      break;
    }
    std::vector<std::string> row;
    for (int c = 0; c < columns; ++c) {
      switch (sqlite3_column_type(statement, c)) {
        case SQLITE_INTEGER:
          row.push_back(std::to_string(sqlite3_column_int64(statement, c)));
          break;
        case SQLITE_FLOAT:
          row.push_back(python_float(sqlite3_column_double(statement, c)));
          break;
        case SQLITE_NULL:
          row.push_back("None");
          break;
        default: {
          const unsigned char* text = sqlite3_column_text(statement, c);
          row.push_back(sql_quote(text ? reinterpret_cast<const char*>(text) : ""));
        }
      }
    }
    outcome.rows.push_back(std::move(row));
  }
  sqlite3_progress_handler(db_, 0, nullptr, nullptr);
  if (status == SQLITE_DONE) {
    outcome.ok = true;
  } else if (status == SQLITE_INTERRUPT) {
    outcome.error = fmt::format("query stopped after the {} s time limit", time_limit_seconds_);
  } else if (status == SQLITE_TOOBIG) {
    outcome.error = fmt::format("query returned more than {} rows", kMaxRows);
  } else {
    outcome.error = sqlite3_errmsg(db_);
  }
  sqlite3_finalize(statement);
  if (!outcome.ok) outcome.rows.clear();
  return outcome;
}

StepResult SqlGymEnvironment::step(const std::string& action) {
  require_running();
  SqlOutcome outcome = run(action);
  StepResult result;
  result.done = true;
  if (!outcome.ok) {
    result.observation = "Error: " + outcome.error;
  } else {
    // BIRD's check: the sets of result rows are equal (3 and 3.0 count as the same value).
    auto as_set = [](const SqlOutcome& o) {
      std::set<std::vector<std::string>> rows;
      for (auto row : o.rows) {
        for (auto& cell : row) {
          if (cell.size() > 2 && cell.compare(cell.size() - 2, 2, ".0") == 0 &&
              cell.find_first_not_of("-0123456789.") == std::string::npos) {
            cell.resize(cell.size() - 2);
          }
        }
        rows.insert(row);
      }
      return rows;
    };
    result.reward = as_set(outcome) == as_set(gold_) ? 1.0 : 0.0;
    result.observation = outcome.repr();
  }
  // Upstream cuts long execution results to 100 characters.
  if (result.observation.size() > 100)
    result.observation = result.observation.substr(0, 100) + "...";
  observation_ = result.observation;
  record_step(result);
  return result;
}

namespace {
class SqlGymExpert : public Expert {
 public:
  ExpertMove next(const Environment& env) override {
    const auto* sql = dynamic_cast<const SqlGymEnvironment*>(&env);
    TESSERA_CHECK(sql != nullptr, "sqlgym expert: not a sqlgym environment");
    const SqlTask& task = sql->sql_task();
    return {fmt::format(
                "The question \"{}\" can be answered from the tables in the schema with one query.",
                task.question),
            "```sql\n" + task.gold_sql + "\n```"};
  }
};
}  // namespace

std::unique_ptr<Expert> make_sqlgym_expert() {
  return std::make_unique<SqlGymExpert>();
}

}  // namespace tessera::agents
