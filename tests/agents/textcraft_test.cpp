#include "tessera/agents/textcraft.h"

#include <gtest/gtest.h>

#include <set>

#include "tessera/agents/episode.h"
#include "tessera/agents/experts.h"
#include "tessera/core/error.h"

namespace tessera::agents {
namespace {

TEST(TextCraft, WorldsAreDeterministicWithTheRequestedDepth) {
  TextCraftOptions options;
  for (int64_t task = 0; task < 30; ++task) {
    CraftWorld a = generate_craft_world(task, options);
    CraftWorld b = generate_craft_world(task, options);
    EXPECT_EQ(a.commands, b.commands);
    EXPECT_EQ(a.goal, b.goal);
    EXPECT_EQ(a.depth, 1 + task % 3);
    EXPECT_TRUE(a.is_craftable(a.goal));
    // Every name is plain words, so AgentGym's client-side cleaning keeps actions intact.
    for (const auto& line : a.commands) {
      for (char c : line)
        EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == ' ' || c == ',') << line;
    }
  }
  EXPECT_NE(generate_craft_world(1, options).goal, generate_craft_world(4, options).goal);
  options.max_depth = 5;
  EXPECT_EQ(generate_craft_world(4, options).depth, 5);
}

TEST(TextCraft, GoldenObservationShape) {
  TextCraftEnvironment env;
  std::string first = env.reset(0);
  EXPECT_EQ(first.rfind("Crafting commands:\n", 0), 0u);
  EXPECT_NE(first.find("\n\nGoal: craft " + env.world().goal + "."), std::string::npos);
  EXPECT_EQ(env.step("inventory").observation, "Inventory: You are not carrying anything.");
  const std::string base = env.world().base_items.front();
  EXPECT_EQ(env.step("get 3 " + base).observation, "Got 3 " + base);
  EXPECT_EQ(env.step("inventory").observation, "Inventory: [" + base + "] (3) ");
}

TEST(TextCraft, InvalidActionsAnswerLikeUpstream) {
  TextCraftEnvironment env;
  env.reset(2);
  const CraftWorld& world = env.world();
  EXPECT_EQ(env.step("dance").observation, "Could not execute dance");
  EXPECT_EQ(env.step("get 1 unobtainium").observation, "Could not find unobtainium");
  EXPECT_EQ(env.step("get 1 " + world.goal).observation,
            "Could not find " + world.goal);  // craftable
  EXPECT_EQ(env.step("craft 1 x using planks").observation, "Wrong item format: planks");
  std::string goal_id = world.goal;
  std::replace(goal_id.begin(), goal_id.end(), ' ', '_');
  EXPECT_EQ(env.step("craft 1 " + world.goal + " using 1 " + world.base_items.front()).observation,
            "Could not find enough items to craft minecraft:" + goal_id);
  env.step("get 50 " + world.base_items.front());
  StepResult wrong = env.step("craft 1 " + world.goal + " using 50 " + world.base_items.front());
  EXPECT_EQ(wrong.observation.rfind("Could not find a valid recipe for", 0), 0u)
      << wrong.observation;
  EXPECT_EQ(wrong.reward, 0.0);
}

TEST(TextCraft, TagsAcceptAnyKind) {
  // Find a task whose tree uses a generic ingredient, then craft with a member of it.
  for (int64_t task = 0; task < 200; ++task) {
    CraftWorld world = generate_craft_world(task, {});
    for (const auto& [output, recipes] : world.recipes) {
      const CraftRecipe& recipe = recipes.front();
      if (recipe.inputs.size() != 1 || !recipe.inputs[0].is_tag) continue;
      const auto& members = world.tag_members.at(recipe.inputs[0].name);
      TextCraftEnvironment env;
      env.reset(task);
      // Obtain one member with the expert's planner by making it the thing we check.
      const std::string member = members.back();
      const CraftRecipe& member_recipe = world.recipes.at(member).front();
      bool all_base = true;
      for (const auto& input : member_recipe.inputs) all_base &= world.is_base(input.name);
      if (!all_base) continue;
      std::string craft_member =
          "craft " + std::to_string(member_recipe.output_count) + " " + member + " using ";
      for (size_t i = 0; i < member_recipe.inputs.size(); ++i) {
        env.step("get " + std::to_string(member_recipe.inputs[i].count) + " " +
                 member_recipe.inputs[i].name);
        craft_member += (i ? ", " : "") + std::to_string(member_recipe.inputs[i].count) + " " +
                        member_recipe.inputs[i].name;
      }
      ASSERT_EQ(env.step(craft_member).observation.rfind("Crafted", 0), 0u) << craft_member;
      if (member_recipe.output_count < recipe.inputs[0].count) continue;
      StepResult crafted =
          env.step("craft " + std::to_string(recipe.output_count) + " " + output + " using " +
                   std::to_string(recipe.inputs[0].count) + " " + member);
      EXPECT_EQ(crafted.observation.rfind("Crafted", 0), 0u) << crafted.observation;
      // Naming the tag itself is not an item one holds.
      EXPECT_EQ(env.step("craft 1 " + output + " using 1 " + recipe.inputs[0].name)
                    .observation.rfind("Could not find enough items", 0),
                0u);
      return;
    }
  }
  FAIL() << "no single-tag recipe with base-only members in 200 tasks";
}

TEST(TextCraft, ExpertSolvesTheTestSplit) {
  TextCraftEnvironment env;
  auto expert = make_expert("textcraft");
  const auto& spec = find_environment("textcraft");
  for (int64_t task = spec.test_begin; task < spec.test_end; ++task) {
    Episode episode = run_expert_episode(env, task, *expert, 200);
    EXPECT_TRUE(episode.success) << "task " << task << "\n" << to_agent_traj(episode).dump(1);
    if (!episode.success) break;
  }
}

TEST(TextCraft, ClientParsingAndFinishedEpisodes) {
  EXPECT_EQ(parse_answer("textcraft", "Thought:\nx\n\nAction:\nget 2 oak log.\n").action,
            "get 2 oak log");
  EXPECT_EQ(parse_answer("textcraft", "Action:  craft 1  stick using 2 oak planks").action,
            "craft 1 stick using 2 oak planks");
  ParsedAnswer twice = parse_answer("textcraft", "Action: inventory\nAction: get 1 x");
  ASSERT_TRUE(twice.client_reply.has_value());
  EXPECT_EQ(*twice.client_reply,
            "Error: Only one 'Action' is allowed per response. Please adjust your response.");
  TextCraftEnvironment env;
  auto expert = make_expert("textcraft");
  run_expert_episode(env, 0, *expert, 200);
  EXPECT_TRUE(env.done());
  EXPECT_NO_THROW(env.step("inventory"));  // upstream keeps answering after the goal
}

}  // namespace
}  // namespace tessera::agents
