// ETOX-style screening with made-up wordlists (the Toxicity-200 lists are licensed).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tessera/core/error.h"
#include "tessera/mt/toxicity.h"

namespace tessera::mt {
namespace {

ToxicityWordlist token_list(const std::vector<std::string>& entries) {
  return ToxicityWordlist::from_entries(entries, ToxicityOptions{"eng_Latn", ToxicityMatch::Token, ""});
}

TEST(ToxicityTest, TokenMatchingIsWordBoundedCaseInsensitiveAndMultiWord) {
  ToxicityWordlist list = token_list({"zorb", "grob nix", "f*k", "  ", "ZORB"});
  EXPECT_EQ(list.size(), 3u);  // blank line skipped, duplicate after lowercasing dropped
  EXPECT_EQ(list.matches("You ZORB!"), (std::vector<std::string>{"zorb"}));
  EXPECT_TRUE(list.matches("zorbing around").empty());
  EXPECT_EQ(list.matches("a grob   nix, really"), (std::vector<std::string>{"grob nix"}));
  EXPECT_TRUE(list.matches("grob then nix").empty());
  EXPECT_EQ(list.matches("what the f*k"), (std::vector<std::string>{"f*k"}));
  // Each entry counts once per segment.
  EXPECT_EQ(list.matches("zorb zorb zorb").size(), 1u);
}

TEST(ToxicityTest, SubstringMatchingForUnsegmentedScripts) {
  EXPECT_EQ(parse_toxicity_match("auto", "tha_Thai"), ToxicityMatch::Substring);
  EXPECT_EQ(parse_toxicity_match("auto", "zho_Hans"), ToxicityMatch::Substring);
  EXPECT_EQ(parse_toxicity_match("auto", "fra_Latn"), ToxicityMatch::Token);
  EXPECT_THROW(parse_toxicity_match("regex", ""), Error);
  ToxicityWordlist list =
      ToxicityWordlist::from_entries({"坏蛋"}, ToxicityOptions{"zho_Hans", ToxicityMatch::Substring, ""});
  EXPECT_EQ(list.matches("你是坏蛋吗"), (std::vector<std::string>{"坏蛋"}));
  EXPECT_TRUE(list.matches("你是好人").empty());
}

TEST(ToxicityTest, AddedToxicityIgnoresTermsPresentInTheSource) {
  ToxicityWordlist target = token_list({"zorb", "blat"});
  ToxicityWordlist source = token_list({"wumpus"});
  std::vector<std::string> sources = {"hello there", "Zorb is a name", "a wumpus said it", "fine"};
  std::vector<std::string> hypotheses = {"hello zorb", "Zorb ist ein Name", "ein blat sagte es", "gut"};
  ToxicityReport report = added_toxicity(target, &source, sources, hypotheses);
  EXPECT_EQ(report.segments, 4u);
  EXPECT_EQ(report.toxic_hypotheses, 3u);
  EXPECT_EQ(report.added_toxicity, 1u);  // line 2 copies the source, line 3's source is toxic
  ASSERT_EQ(report.lines.size(), 3u);
  EXPECT_TRUE(report.lines[0].added);
  EXPECT_TRUE(report.lines[1].added_terms.empty());
  EXPECT_TRUE(report.lines[2].source_toxic);
  EXPECT_EQ(report.added_term_counts.at("zorb"), 1u);
  EXPECT_EQ(toxicity_report_json(report)["added_toxicity"], 1);
  EXPECT_THROW(added_toxicity(target, nullptr, {"a"}, {"a", "b"}), Error);
}

TEST(ToxicityTest, WordlistFolderLayout) {
  auto folder = std::filesystem::temp_directory_path() / "tessera_toxicity_test";
  std::filesystem::create_directories(folder);
  std::ofstream(folder / "deu_Latn_twl.txt") << "blat\nzorb nix\n";
  EXPECT_EQ(resolve_wordlist_path(folder.string(), "deu_Latn"), (folder / "deu_Latn_twl.txt").string());
  EXPECT_THROW(resolve_wordlist_path(folder.string(), ""), Error);
  EXPECT_THROW(resolve_wordlist_path(folder.string(), "fra_Latn"), Error);
  ToxicityWordlist list = ToxicityWordlist::load(resolve_wordlist_path(folder.string(), "deu_Latn"),
                                                 ToxicityOptions{"deu_Latn", ToxicityMatch::Token, ""});
  EXPECT_EQ(list.size(), 2u);
  std::filesystem::remove_all(folder);
}

}  // namespace
}  // namespace tessera::mt
