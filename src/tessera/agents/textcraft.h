#pragma once
// TextCraft (AgentGym's agentenv-textcraft): craft a goal item from base items with
// `get N item`, `craft N X using N a, N b` and `inventory`, following the recipes listed in
// the task text. Upstream reads Minecraft's recipe files; Tessera generates each task's recipe
// world from its id instead: a goal whose crafting tree has a chosen depth, generic item types
// (tags: a recipe asks for "planks" and any kind of planks will do), and distractor recipes
// that use the same ingredients for things the goal does not need. The action semantics and
// the answer texts are upstream's.
#include <map>
#include <string>
#include <vector>

#include "tessera/agents/environment.h"
#include "tessera/agents/experts.h"

namespace tessera::agents {

struct CraftIngredient {
  int count = 1;
  std::string name;  // an item, or a tag when is_tag
  bool is_tag = false;
};

struct CraftRecipe {
  std::vector<CraftIngredient> inputs;
  std::string output;
  int output_count = 1;
  // "craft 4 oak planks using 1 oak log", upstream's recipe_str.
  std::string text() const;
};

// One task's recipe world.
struct CraftWorld {
  std::string goal;
  int depth = 0;                              // crafting steps on the goal's longest chain
  std::map<std::string, std::string> tag_of;  // item -> its generic type, if any
  std::map<std::string, std::vector<std::string>> tag_members;
  std::map<std::string, std::vector<CraftRecipe>> recipes;  // by output item
  std::vector<std::string> base_items;                      // what `get` can fetch
  std::vector<std::string> commands;  // the task text's recipe lines, shuffled

  bool is_base(const std::string& item) const;
  bool is_tag(const std::string& name) const { return tag_members.count(name) > 0; }
  bool is_craftable(const std::string& item) const { return recipes.count(item) > 0; }
};

struct TextCraftOptions {
  int max_depth = 3;         // task t has depth 1 + t % max_depth
  int max_distractors = 10;  // upstream's cap on distractor recipes in the task text
};

// The world of task `task` (deterministic).
CraftWorld generate_craft_world(int64_t task, const TextCraftOptions& options);

class TextCraftEnvironment : public Environment {
 public:
  explicit TextCraftEnvironment(TextCraftOptions options = {}) : options_(options) {}

  std::string name() const override { return "textcraft"; }
  std::string reset(int64_t task) override;
  StepResult step(const std::string& action) override;
  std::string observation() const override { return observation_; }
  std::vector<std::string> available_actions() const override { return {}; }

  const CraftWorld& world() const { return world_; }
  // Item -> count, in the order items were first added (upstream prints a dict in that order).
  const std::vector<std::pair<std::string, int>>& inventory() const { return inventory_; }
  int count_of(const std::string& item) const;
  std::string commands_text() const;

 protected:
  // Upstream's TextCraft keeps accepting actions after the goal is crafted.
  bool continues_after_done() const override { return true; }

 private:
  std::string craft(const std::string& output_text, const std::string& inputs_text,
                    bool& reached_goal);
  void add(const std::string& item, int count);

  TextCraftOptions options_;
  CraftWorld world_;
  std::vector<std::pair<std::string, int>> inventory_;
  std::string observation_;
};

std::unique_ptr<Expert> make_textcraft_expert();

}  // namespace tessera::agents
