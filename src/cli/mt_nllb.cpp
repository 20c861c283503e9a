// `tessera mt build-corpus` and `tessera mt train`: the NLLB-style corpus and training recipe.
#include <fmt/format.h>

#include <memory>

#include <unistd.h>

#include "cli/commands.h"
#include "cli/mt.h"
#include "tessera/core/error.h"
#include "tessera/mt/corpus_builder.h"
#include "tessera/mt/nllb_evaluation.h"
#include "tessera/mt/nllb_training.h"

#include <nlohmann/json.hpp>

namespace tessera::cli {

namespace {

void add_build_corpus(CLI::App& group) {
  auto o = std::make_shared<mt::CorpusBuildOptions>();
  auto json = std::make_shared<bool>(false);
  auto* cmd = group.add_subcommand(
      "build-corpus",
      "Build a multilingual parallel corpus (gettext catalogues, iso-codes, WEB vs Reina-Valera)");
  cmd->add_option("--out", o->out, "corpus folder to write")->required();
  cmd->add_option("--locale-dir", o->locale_dir, "gettext catalogue root");
  cmd->add_option("--sword-path", o->sword_path, "SWORD library root");
  cmd->add_option("--languages", o->only_languages,
                  "only these NLLB codes (e.g. fra_Latn spa_Latn)");
  cmd->add_option("--min-pairs", o->min_pairs_per_language, "leave out languages with fewer pairs");
  cmd->add_option("--dev-fraction", o->dev_fraction, "share of English sentences in dev");
  cmd->add_option("--test-fraction", o->test_fraction, "share of English sentences in test");
  cmd->add_option("--min-words", o->rules.min_source_words,
                  "minimum English words of a catalogue message");
  cmd->add_option("--max-ratio", o->rules.max_length_ratio,
                  "maximum byte-length ratio of the two sides");
  cmd->add_flag("--language-id", o->language_id,
                "drop pairs CLD2 reliably places in another language");
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
      nlohmann::json j = {{"languages", r.languages.size()},
                          {"train", train},
                          {"dev", dev},
                          {"test", test},
                          {"rejected", r.rejected},
                          {"catalogues_read", r.catalogues_read}};
      fmt::print("{}\n", j.dump());
      return;
    }
    fmt::print("{} languages, {} train / {} dev / {} test pairs from {} catalogues ({} skipped)\n",
               r.languages.size(), train, dev, test, r.catalogues_read, r.catalogues_skipped);
    std::string rejected;
    for (const auto& [reason, n] : r.rejected) rejected += fmt::format(" {}={}", reason, n);
    fmt::print("rejected:{}\ncounts per language: {}/counts.tsv\n", rejected, o->out);
  });
}

void add_train(CLI::App& group) {
  auto o = std::make_shared<mt::MtTrainOptions>();
  auto json = std::make_shared<bool>(false);
  auto* cmd = group.add_subcommand(
      "train", "Train a multilingual many-to-many translation model (dense or MoE)");
  cmd->add_option("--corpus", o->corpus_dir, "folder written by mt build-corpus")->required();
  cmd->add_option("--out", o->out_dir,
                  "model folder (config.json, model.safetensors, sentencepiece.bpe.model)")
      ->required();
  cmd->add_option("--arch", o->arch, "dense (m2m_100) or moe (nllb-moe)")
      ->check(CLI::IsMember({"dense", "moe"}));
  cmd->add_option("--eom", o->eom_rate, "moe: Expert Output Masking rate (0: off; NLLB used 0.2)");
  cmd->add_option("--languages", o->languages,
                  "NLLB codes paired with eng_Latn (default: all in the corpus)");
  cmd->add_option("--d-model", o->d_model, "hidden size");
  cmd->add_option("--layers", o->layers, "encoder and decoder layers each");
  cmd->add_option("--heads", o->heads, "attention heads");
  cmd->add_option("--ffn", o->ffn_dim, "feed-forward (and expert) hidden size");
  cmd->add_option("--experts", o->num_experts, "moe: experts per sparse layer");
  cmd->add_option("--sparse-step", o->sparse_step, "moe: every k-th FFN is sparse");
  cmd->add_option("--vocab", o->vocab_size, "SentencePiece pieces");
  cmd->add_option("--steps", o->steps, "optimizer steps");
  cmd->add_option("--minutes", o->minutes, "also stop after this much wall time");
  cmd->add_option("--batch", o->batch_size, "sentence pairs per step");
  cmd->add_option("--max-tokens", o->max_tokens, "cut each side to this many tokens");
  cmd->add_option("--lr", o->lr, "peak learning rate (inverse square root decay after warmup)");
  cmd->add_option("--warmup", o->warmup_steps, "warmup steps");
  cmd->add_option("--label-smoothing", o->label_smoothing, "label smoothing");
  cmd->add_option("--dropout", o->dropout, "dropout on embeddings and residual branches");
  cmd->add_option("--attention-dropout", o->attention_dropout, "dropout on attention probabilities");
  cmd->add_option("--activation-dropout", o->activation_dropout,
                  "dropout on FFN (and expert) hidden activations");
  cmd->add_option("--layerdrop", o->layerdrop, "probability of skipping a whole layer in training");
  cmd->add_option("--temperature", o->temperature, "sampling temperature over directions");
  cmd->add_option("--aux-loss", o->aux_loss_weight, "moe: load-balancing loss weight");
  cmd->add_option("--z-loss", o->z_loss_weight, "moe: router z-loss weight (0: off)");
  cmd->add_option("--eval-every", o->eval_every, "dev loss every N steps (0: at the end)");
  cmd->add_option("--save-every", o->save_every, "checkpoint every N steps (0: at the end)");
  cmd->add_option("--runs", o->runs_dir, "runs folder (metrics.jsonl, summary.json)");
  cmd->add_option("--run-name", o->run_name, "run name (default: the --out folder name)");
  cmd->add_option("--seed", o->seed, "initialisation, tokenizer sample and data order");
  cmd->add_flag("--resume", o->resume, "continue from the checkpoint in --out");
  cmd->add_flag("--json", *json, "print the summary as JSON");
  cmd->callback([o, json] {
    o->progress = !*json;
    mt::MtTrainSummary s = mt::train_translation_model(*o);
    nlohmann::json j = {{"steps", s.steps_done},
                        {"seconds", s.seconds},
                        {"tokens_per_second", s.tokens_per_second},
                        {"train_loss", s.last_train_loss},
                        {"dev_loss", s.dev_loss},
                        {"parameters", s.parameters},
                        {"active_parameters", s.active_parameters},
                        {"languages", s.languages}};
    if (*json) {
      fmt::print("{}\n", j.dump());
      return;
    }
    fmt::print(
        "{} steps in {:.0f} s ({:.0f} target tokens/s); train loss {:.3f}, dev loss {:.3f}\n",
        s.steps_done, s.seconds, s.tokens_per_second, s.last_train_loss, s.dev_loss);
    fmt::print("{} parameters ({} active per token), {} languages + eng_Latn; model in {}\n",
               s.parameters, s.active_parameters, s.languages.size(), o->out_dir);
  });
}

void add_test(CLI::App& group) {
  auto o = std::make_shared<mt::EvaluationOptions>();
  auto model_dir = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto high_resource = std::make_shared<int64_t>(5000);
  auto* cmd = group.add_subcommand(
      "test", "Translate a corpus split and score every direction (chrF++, spBLEU)");
  cmd->add_option("--model", *model_dir, "model folder")->required();
  cmd->add_option("--corpus", o->corpus_dir, "folder written by mt build-corpus")->required();
  cmd->add_option("--split", o->split, "dev or test");
  cmd->add_option("--languages", o->languages, "NLLB codes (default: the tokenizer's)");
  cmd->add_option("--max-sentences", o->max_sentences, "sentences per direction");
  cmd->add_option("--beam", o->decode.beam_size, "beam size");
  cmd->add_option("--spm", o->spm_model,
                  "SentencePiece model for spBLEU (default: the model's own)");
  cmd->add_option("--toxicity", o->toxicity_list,
                  "wordlist folder (<lang>_twl.txt) for added toxicity");
  cmd->add_option("--high-resource", *high_resource,
                  "training pairs from which a language counts as high-resource");
  cmd->add_flag("--json", *json, "JSON output");
  cmd->callback([o, model_dir, json, high_resource] {
    mt::TranslationModel tm = mt::load_translation_model(*model_dir);
    auto scores = mt::evaluate_directions(*tm.model, tm.tokenizer, *model_dir, *o);
    double sums[2][2] = {{0, 0}, {0, 0}};
    int64_t counts[2] = {0, 0};
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& s : scores) {
      const bool high = s.train_pairs >= *high_resource;
      sums[high][0] += s.chrf_pp;
      sums[high][1] += s.spbleu;
      ++counts[high];
      rows.push_back({{"src", s.src},
                      {"tgt", s.tgt},
                      {"sentences", s.sentences},
                      {"train_pairs", s.train_pairs},
                      {"chrf++", s.chrf_pp},
                      {"spbleu", s.spbleu},
                      {"added_toxicity", s.added_toxicity},
                      {"resource", high ? "high" : "low"}});
      if (!*json)
        fmt::print(
            "{} -> {}  chrF++ {:5.1f}  spBLEU {:5.1f}  ({} sentences, {} train pairs, added "
            "toxicity {})\n",
            s.src, s.tgt, s.chrf_pp, s.spbleu, s.sentences, s.train_pairs, s.added_toxicity);
    }
    nlohmann::json groups;
    for (int high : {1, 0}) {
      if (!counts[high]) continue;
      groups[high ? "high" : "low"] = {{"directions", counts[high]},
                                       {"chrf++", sums[high][0] / counts[high]},
                                       {"spbleu", sums[high][1] / counts[high]}};
      if (!*json)
        fmt::print("{}-resource mean over {} directions: chrF++ {:.1f}  spBLEU {:.1f}\n",
                   high ? "high" : "low", counts[high], sums[high][0] / counts[high],
                   sums[high][1] / counts[high]);
    }
    if (*json) fmt::print("{}\n", nlohmann::json{{"directions", rows}, {"groups", groups}}.dump());
  });
}

}  // namespace

void add_mt_nllb_commands(CLI::App& group) {
  add_build_corpus(group);
  add_train(group);
  add_test(group);
}

}  // namespace tessera::cli
