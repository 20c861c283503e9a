// `tessera mt eval` (BLEU, chrF/chrF++, TER with sacrebleu's semantics and output) and
// `tessera mt toxicity` (ETOX-style wordlist screening, added toxicity).
#include "cli/mt.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <set>

#include "cli/commands.h"
#include "tessera/core/error.h"
#include "tessera/mt/metrics_bleu.h"
#include "tessera/mt/metrics_chrf.h"
#include "tessera/mt/metrics_io.h"
#include "tessera/mt/metrics_report.h"
#include "tessera/mt/metrics_significance.h"
#include "tessera/mt/metrics_ter.h"
#include "tessera/mt/toxicity.h"

namespace tessera::cli {

namespace {

struct EvalOptions {
  std::vector<std::string> hypothesis_files;
  std::vector<std::string> reference_files;
  std::vector<std::string> metrics = {"bleu"};
  // BLEU
  std::string tokenize = "13a";
  std::string spm_model;
  bool lowercase = false;
  std::string smooth_method = "exp";
  std::optional<double> smooth_value;
  // chrF
  int chrf_char_order = 6;
  int chrf_word_order = 0;
  int chrf_beta = 2;
  bool chrf_whitespace = false;
  bool chrf_lowercase = false;
  bool chrf_eps_smoothing = false;
  // TER
  mt::TercomOptions ter;
  // modes and output
  bool sentence = false;
  bool confidence = false;
  int confidence_n = mt::kDefaultBootstrapResamples;
  bool paired_bs = false;
  int paired_bs_n = mt::kDefaultBootstrapResamples;
  uint64_t seed = mt::kDefaultBootstrapSeed;
  int width = 1;
  bool score_only = false;
  bool short_signature = false;
  bool json = false;
};

// Metrics in sacrebleu's order (sorted by name: BLEU, CHRF, TER).
std::vector<std::unique_ptr<mt::Metric>> make_metrics(const EvalOptions& options) {
  std::set<std::string> names;
  for (std::string name : options.metrics) {
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    TESSERA_CHECK_INPUT(name == "bleu" || name == "chrf" || name == "ter",
                        "unknown metric '{}' (expected bleu, chrf or ter)", name);
    names.insert(name);
  }
  std::vector<std::unique_ptr<mt::Metric>> metrics;
  if (names.count("bleu")) {
    mt::BleuOptions bleu;
    bleu.tokenize = options.tokenize;
    bleu.spm_model_path = options.spm_model;
    bleu.lowercase = options.lowercase;
    bleu.smoothing = mt::parse_bleu_smoothing(options.smooth_method);
    bleu.smooth_value = options.smooth_value;
    bleu.effective_order = options.sentence;  // as sacrebleu does for sentence-level BLEU
    metrics.push_back(std::make_unique<mt::Bleu>(bleu));
  }
  if (names.count("chrf")) {
    mt::ChrfOptions chrf;
    chrf.char_order = options.chrf_char_order;
    chrf.word_order = options.chrf_word_order;
    chrf.beta = options.chrf_beta;
    chrf.whitespace = options.chrf_whitespace;
    chrf.lowercase = options.chrf_lowercase;
    chrf.eps_smoothing = options.chrf_eps_smoothing;
    metrics.push_back(std::make_unique<mt::Chrf>(chrf));
  }
  if (names.count("ter")) metrics.push_back(std::make_unique<mt::Ter>(options.ter));
  return metrics;
}

void print_text(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

void run_eval(const EvalOptions& options) {
  TESSERA_CHECK_INPUT(options.width >= 0 && options.width <= 20, "--width must be in 0..20, got {}",
                      options.width);
  mt::References references;
  for (const std::string& path : options.reference_files) references.push_back(mt::read_segments(path));
  for (size_t r = 1; r < references.size(); ++r) {
    TESSERA_CHECK_INPUT(references[r].size() == references[0].size(), "{} has {} lines but {} has {}",
                        options.reference_files[r], references[r].size(),
                        options.reference_files[0], references[0].size());
  }
  std::vector<mt::NamedSystem> systems;
  std::set<std::string> seen;
  for (const std::string& path : options.hypothesis_files) {
    TESSERA_CHECK_INPUT(seen.insert(path).second, "{} is given twice as --hyp", path);
    mt::NamedSystem system{path, mt::read_segments(path)};
    TESSERA_CHECK_INPUT(system.hypotheses.size() == references[0].size(),
                        "{} has {} lines but {} has {}", path, system.hypotheses.size(),
                        options.reference_files[0], references[0].size());
    systems.push_back(std::move(system));
  }
  const bool several = systems.size() > 1;
  TESSERA_CHECK_INPUT(!(options.paired_bs && !several),
                      "--paired-bs needs at least two --hyp files (the first is the baseline)");
  TESSERA_CHECK_INPUT(!(options.sentence && several), "--sentence evaluates one --hyp file only");
  TESSERA_CHECK_INPUT(!(options.sentence && (options.confidence || options.paired_bs)),
                      "statistical tests are unavailable with --sentence");
  TESSERA_CHECK_INPUT(!(options.confidence && several),
                      "--confidence is for one system; use --paired-bs for several");

  std::vector<std::unique_ptr<mt::Metric>> metrics = make_metrics(options);
  for (auto& metric : metrics) metric->set_references(references);

  if (options.paired_bs) {
    std::vector<mt::Metric*> pointers;
    for (auto& metric : metrics) pointers.push_back(metric.get());
    auto results = mt::paired_bootstrap_test(pointers, systems, options.paired_bs_n, options.seed);
    if (options.json) {
      print_text(mt::paired_results_json(results).dump(1) + "\n");
    } else {
      print_text(mt::format_paired_report(results, options.paired_bs_n, options.width,
                                          options.short_signature));
    }
    return;
  }

  if (options.sentence) {
    std::vector<std::vector<mt::MetricScore>> per_metric;
    std::vector<mt::Signature> signatures;
    for (auto& metric : metrics) {
      auto statistics = mt::collect_statistics(*metric, systems[0].hypotheses);
      per_metric.push_back(mt::segment_scores(*metric, statistics));
      signatures.push_back(metric->signature());
    }
    nlohmann::json json = nlohmann::json::array();
    std::string text;
    for (size_t segment = 0; segment < systems[0].hypotheses.size(); ++segment) {
      for (size_t m = 0; m < metrics.size(); ++m) {
        const mt::MetricScore& score = per_metric[m][segment];
        if (options.json) {
          nlohmann::json entry = score.to_json(signatures[m]);
          entry["segment"] = segment + 1;
          json.push_back(std::move(entry));
        } else {
          text += score.format(options.width, options.score_only,
                               signatures[m].format(options.short_signature)) + "\n";
        }
      }
    }
    print_text(options.json ? json.dump(1) + "\n" : text);
    return;
  }

  if (several) {
    std::vector<mt::SystemScores> table;
    nlohmann::json json = nlohmann::json::array();
    for (const mt::NamedSystem& system : systems) {
      mt::SystemScores row{system.name, {}};
      for (auto& metric : metrics) {
        row.scores.push_back(mt::corpus_score(*metric, mt::collect_statistics(*metric, system.hypotheses)));
        nlohmann::json entry = row.scores.back().to_json(metric->signature());
        entry["system"] = system.name;
        json.push_back(std::move(entry));
      }
      table.push_back(std::move(row));
    }
    std::vector<std::string> signatures;
    for (auto& metric : metrics) signatures.push_back(metric->signature().format(options.short_signature));
    print_text(options.json ? json.dump(1) + "\n"
                            : mt::format_systems_report(table, signatures, options.width));
    return;
  }

  std::vector<std::string> lines;
  nlohmann::json json = nlohmann::json::array();
  for (auto& metric : metrics) {
    auto statistics = mt::collect_statistics(*metric, systems[0].hypotheses);
    mt::MetricScore score = options.confidence
                                ? mt::corpus_score_with_confidence(*metric, statistics,
                                                                   options.confidence_n, options.seed)
                                : mt::corpus_score(*metric, statistics);
    mt::Signature signature = metric->signature();
    json.push_back(score.to_json(signature));
    lines.push_back(score.format(options.width, options.score_only, signature.format(options.short_signature)));
  }
  if (options.json) {
    print_text(json.dump(1) + "\n");
  } else {
    for (const std::string& line : mt::align_score_lines(lines)) print_text(line + "\n");
  }
}

void add_eval_command(CLI::App& group) {
  auto options = std::make_shared<EvalOptions>();
  CLI::App* eval = group.add_subcommand(
      "eval", "Score translations with BLEU, chrF/chrF++ and TER, exactly as sacrebleu 2.6.0 does");
  eval->add_option("--hyp", options->hypothesis_files,
                   "hypothesis file, one segment per line (repeat for several systems; the first "
                   "is the baseline of --paired-bs)")
      ->required();
  eval->add_option("--ref", options->reference_files, "reference file (repeat for several references)")
      ->required();
  eval->add_option("--metrics", options->metrics, "comma-separated metrics: bleu, chrf, ter")
      ->delimiter(',')
      ->capture_default_str();
  eval->add_option("--tokenize", options->tokenize,
                   "BLEU tokenizer: 13a, intl, zh, char, none, flores101, flores200, spm, spBLEU-1K")
      ->capture_default_str();
  eval->add_option("--spm-model", options->spm_model,
                   "SentencePiece model file for the flores101/flores200/spm tokenizers");
  eval->add_flag("--lowercase", options->lowercase, "case-insensitive BLEU");
  eval->add_option("--smooth-method", options->smooth_method, "BLEU smoothing: exp, floor, add-k, none")
      ->capture_default_str();
  eval->add_option("--smooth-value", options->smooth_value,
                   "BLEU smoothing value (default 0.1 for floor, 1 for add-k)");
  eval->add_option("--chrf-char-order", options->chrf_char_order, "chrF character n-gram order")
      ->capture_default_str();
  eval->add_option("--chrf-word-order", options->chrf_word_order,
                   "chrF word n-gram order (2 gives chrF++)")
      ->capture_default_str();
  eval->add_option("--chrf-beta", options->chrf_beta, "chrF recall weight beta")->capture_default_str();
  eval->add_flag("--chrf-whitespace", options->chrf_whitespace, "keep whitespace in character n-grams");
  eval->add_flag("--chrf-lowercase", options->chrf_lowercase, "case-insensitive chrF");
  eval->add_flag("--chrf-eps-smoothing", options->chrf_eps_smoothing,
                 "epsilon smoothing as chrF++.py/Moses/NLTK instead of effective order");
  eval->add_flag("--ter-case-sensitive", options->ter.case_sensitive, "case-sensitive TER");
  eval->add_flag("--ter-normalized", options->ter.normalized, "TER: Tercom normalization and tokenization");
  eval->add_flag("--ter-no-punct", options->ter.no_punct, "TER: remove punctuation");
  eval->add_flag("--ter-asian-support", options->ter.asian_support, "TER: split CJK characters");
  eval->add_flag("--sentence", options->sentence, "one score per segment (BLEU uses effective order)");
  eval->add_flag("--confidence", options->confidence, "bootstrap 95% confidence interval (one system)");
  eval->add_option("--confidence-n", options->confidence_n, "bootstrap resamples for --confidence")
      ->capture_default_str();
  eval->add_flag("--paired-bs", options->paired_bs,
                 "paired bootstrap resampling test of every --hyp against the first");
  eval->add_option("--paired-bs-n", options->paired_bs_n, "resamples for --paired-bs")->capture_default_str();
  eval->add_option("--seed", options->seed, "bootstrap seed (sacrebleu's default 12345)")->capture_default_str();
  eval->add_option("--width", options->width, "decimals in text output")->capture_default_str();
  eval->add_flag("--score-only", options->score_only, "print only the score");
  eval->add_flag("--short", options->short_signature, "abbreviated signatures");
  eval->add_flag("--json", options->json, "JSON output at full precision");
  eval->callback([options] { run_eval(*options); });
}

void add_toxicity_command(CLI::App& group) {
  struct ToxicityCommandOptions {
    std::string wordlist, source_wordlist, source_file, hypothesis_file, language, match = "auto", spm_model;
    bool json = false;
  };
  auto options = std::make_shared<ToxicityCommandOptions>();
  CLI::App* toxicity = group.add_subcommand(
      "toxicity", "Screen translations for toxic terms (ETOX-style wordlists) and added toxicity");
  toxicity->add_option("--wordlist", options->wordlist,
                       "Toxicity-200 wordlist file, or the folder holding <lang>_twl.txt files")
      ->required();
  toxicity->add_option("--src", options->source_file, "source file, one segment per line")->required();
  toxicity->add_option("--hyp", options->hypothesis_file, "translation file, one segment per line")->required();
  toxicity->add_option("--lang", options->language,
                       "target language code xxx_Xxxx (picks the file in a wordlist folder and the "
                       "matching mode)");
  toxicity->add_option("--src-wordlist", options->source_wordlist,
                       "wordlist of the source language: a source with toxic terms of its own has no "
                       "added toxicity");
  toxicity->add_option("--match", options->match,
                       "auto, token (word sequences), substring (unsegmented scripts) or spm")
      ->capture_default_str();
  toxicity->add_option("--spm-model", options->spm_model, "SentencePiece model for --match spm");
  toxicity->add_flag("--json", options->json, "JSON output");
  toxicity->callback([options] {
    mt::ToxicityOptions settings;
    settings.language = options->language;
    settings.match = mt::parse_toxicity_match(options->match, options->language);
    settings.spm_model_path = options->spm_model;
    mt::ToxicityWordlist wordlist =
        mt::ToxicityWordlist::load(mt::resolve_wordlist_path(options->wordlist, options->language), settings);
    std::optional<mt::ToxicityWordlist> source_wordlist;
    if (!options->source_wordlist.empty()) {
      source_wordlist = mt::ToxicityWordlist::load(options->source_wordlist, settings);
    }
    std::vector<std::string> sources = mt::read_segments(options->source_file);
    std::vector<std::string> hypotheses = mt::read_segments(options->hypothesis_file);
    TESSERA_CHECK_INPUT(sources.size() == hypotheses.size(), "{} has {} lines but {} has {}",
                        options->hypothesis_file, hypotheses.size(), options->source_file, sources.size());
    mt::ToxicityReport report =
        mt::added_toxicity(wordlist, source_wordlist ? &*source_wordlist : nullptr, sources, hypotheses);
    print_text(options->json ? mt::toxicity_report_json(report).dump(1) + "\n"
                             : mt::format_toxicity_report(report));
  });
}

}  // namespace

CLI::App* mt_command_group(CLI::App& app) {
  auto existing = app.get_subcommands([](CLI::App* sub) { return sub->get_name() == "mt"; });
  if (!existing.empty()) return existing.front();
  CLI::App* group = app.add_subcommand("mt", "Machine translation: corpus, training, evaluation and toxicity screening");
  group->require_subcommand(1);
  return group;
}

void add_mt_commands(CLI::App& app) {
  CLI::App* group = mt_command_group(app);
  add_eval_command(*group);
  add_toxicity_command(*group);
  add_mt_nllb_commands(*group);
}

}  // namespace tessera::cli
