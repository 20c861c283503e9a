// `tessera mt build-corpus` and `tessera mt train`: the NLLB-style corpus and training recipe.
#include <fmt/format.h>

#include <memory>

#include <unistd.h>

#include "cli/commands.h"
#include "cli/mt.h"
#include "tessera/core/error.h"
#include "tessera/mt/corpus_builder.h"

#include <nlohmann/json.hpp>

namespace tessera::cli {

namespace {

void add_build_corpus(CLI::App& group) {
  auto o = std::make_shared<mt::CorpusBuildOptions>();
  auto json = std::make_shared<bool>(false);
  auto* cmd = group.add_subcommand(
      "build-corpus", "Build a multilingual parallel corpus (gettext catalogues, iso-codes, WEB vs Reina-Valera)");
  cmd->add_option("--out", o->out, "corpus folder to write")->required();
  cmd->add_option("--locale-dir", o->locale_dir, "gettext catalogue root");
  cmd->add_option("--sword-path", o->sword_path, "SWORD library root");
  cmd->add_option("--languages", o->only_languages, "only these NLLB codes (e.g. fra_Latn spa_Latn)");
  cmd->add_option("--min-pairs", o->min_pairs_per_language, "leave out languages with fewer pairs");
  cmd->add_option("--dev-fraction", o->dev_fraction, "share of English sentences in dev");
  cmd->add_option("--test-fraction", o->test_fraction, "share of English sentences in test");
  cmd->add_option("--min-words", o->rules.min_source_words, "minimum English words of a catalogue message");
  cmd->add_option("--max-ratio", o->rules.max_length_ratio, "maximum byte-length ratio of the two sides");
  cmd->add_flag("--language-id", o->language_id, "drop pairs CLD2 reliably places in another language");
  cmd->add_flag("!--no-gettext", o->include_gettext, "leave out the software catalogues");
  cmd->add_flag("!--no-iso-codes", o->include_iso_codes, "leave out the iso-codes name catalogues");
  cmd->add_flag("!--no-bible", o->include_bible, "leave out the WEB / Reina-Valera verse pairs");
  cmd->add_flag("--json", *json, "print counts as JSON");
  cmd->callback([o, json] {
    o->progress = !*json && isatty(fileno(stderr));
    mt::CorpusReport r = mt::build_parallel_corpus(*o);
    int64_t train = 0, dev = 0, test = 0;
    for (const auto& [code, c] : r.languages) {
      train += c.train;
      dev += c.dev;
      test += c.test;
    }
    if (*json) {
      nlohmann::json j = {{"languages", r.languages.size()}, {"train", train}, {"dev", dev}, {"test", test},
                          {"rejected", r.rejected}, {"catalogues_read", r.catalogues_read}};
      fmt::print("{}\n", j.dump());
      return;
    }
    fmt::print("{} languages, {} train / {} dev / {} test pairs from {} catalogues ({} skipped)\n", r.languages.size(),
               train, dev, test, r.catalogues_read, r.catalogues_skipped);
    std::string rejected;
    for (const auto& [reason, n] : r.rejected) rejected += fmt::format(" {}={}", reason, n);
    fmt::print("rejected:{}\ncounts per language: {}/counts.tsv\n", rejected, o->out);
  });
}

}  // namespace

void add_mt_nllb_commands(CLI::App& group) {
  add_build_corpus(group);
}

}  // namespace tessera::cli
