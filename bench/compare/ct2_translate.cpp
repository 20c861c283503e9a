// CTranslate2 side of bench/compare/nllb_ctranslate2.sh: the same fixed-length beam-search work
// as `tessera bench translate`, on a model folder written by ct2_from_m2m100.py.
//
//   ct2_translate translate MODEL SOURCES [--beam 4] [--batch 32] [--length 24]
//                 [--compute float32|int8] [--threads 1] [--repeats 5] [--print]
//   ct2_translate score MODEL --source "IDS" --target "IDS" [--compute float32] [--threads 1]
//
// SOURCES holds one source per line as space-separated token ids (language token and </s>
// included); ids become the vocabulary's token strings (shared_vocabulary.txt), so CTranslate2
// sees exactly the ids Tessera sees. The decoder starts from the model's decoder_start_token
// (</s> for NLLB). min_decoding_length = max_decoding_length = --length: CTranslate2 bans the end
// token while step < min length and stops every hypothesis after max length steps, so each
// sentence yields exactly --length target tokens (checked below), end token not included.
// `translate` runs once to warm up, then --repeats timed runs, and prints the median target
// tokens/s; --print writes each best hypothesis as ids instead (one line per source).
// `score` prints one log-probability per line for the target ids followed by </s>, given the
// decoder input </s> + target ids (CTranslate2's score_batch).
// Not part of Tessera's build: nllb_ctranslate2.sh compiles it against a CTranslate2 install.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <ctranslate2/translator.h>

namespace {

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "ct2_translate: %s\n", message.c_str());
  std::exit(2);
}

std::vector<std::string> read_vocabulary(const std::string& model_dir) {
  const std::string path = model_dir + "/shared_vocabulary.txt";
  std::ifstream in(path);
  if (!in) fail(path + ": cannot open (convert the model with ct2_from_m2m100.py)");
  std::vector<std::string> tokens;
  for (std::string line; std::getline(in, line);) tokens.push_back(line);
  return tokens;
}

std::vector<std::string> ids_to_tokens(const std::string& line, const std::vector<std::string>& vocab,
                                       const std::string& where) {
  std::istringstream fields(line);
  std::vector<std::string> tokens;
  for (std::string field; fields >> field;) {
    size_t used = 0;
    long id = -1;
    try {
      id = std::stol(field, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != field.size() || id < 0 || id >= static_cast<long>(vocab.size()))
      fail(where + ": \"" + field + "\" is not a token id below the vocabulary size " +
           std::to_string(vocab.size()));
    tokens.push_back(vocab[static_cast<size_t>(id)]);
  }
  if (tokens.empty()) fail(where + ": no ids");
  return tokens;
}

struct Options {
  std::string mode, model, sources, source_ids, target_ids, compute = "float32";
  size_t beam = 4, batch = 32, length = 24, threads = 1;
  int repeats = 5;
  bool print = false;
};

size_t parse_count(const std::string& flag, const std::string& value) {
  size_t used = 0;
  long n = -1;
  try {
    n = std::stol(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || n <= 0) fail(flag + " needs a positive integer, got \"" + value + "\"");
  return static_cast<size_t>(n);
}

Options parse(int argc, char** argv) {
  Options o;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--print") {
      o.print = true;
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      positional.push_back(arg);
      continue;
    }
    if (i + 1 >= argc) fail(arg + " needs a value");
    const std::string value = argv[++i];
    if (arg == "--beam") o.beam = parse_count(arg, value);
    else if (arg == "--batch") o.batch = parse_count(arg, value);
    else if (arg == "--length") o.length = parse_count(arg, value);
    else if (arg == "--threads") o.threads = parse_count(arg, value);
    else if (arg == "--repeats") o.repeats = static_cast<int>(parse_count(arg, value));
    else if (arg == "--compute") o.compute = value;
    else if (arg == "--source") o.source_ids = value;
    else if (arg == "--target") o.target_ids = value;
    else fail("unknown option " + arg);
  }
  if (o.compute != "float32" && o.compute != "int8")
    fail("--compute must be float32 or int8, got \"" + o.compute + "\"");
  if (positional.size() >= 2) {
    o.mode = positional[0];
    o.model = positional[1];
  }
  if (o.mode == "translate" && positional.size() == 3) {
    o.sources = positional[2];
  } else if (!(o.mode == "score" && positional.size() == 2)) {
    fail("usage: ct2_translate translate MODEL SOURCES [options] | score MODEL --source IDS --target IDS");
  }
  if (o.mode == "score" && (o.source_ids.empty() || o.target_ids.empty()))
    fail("score needs --source and --target");
  return o;
}

ctranslate2::Translator load(const Options& o) {
  ctranslate2::ReplicaPoolConfig pool;
  pool.num_threads_per_replica = o.threads;  // intra_threads: OpenMP threads of one translation
  return ctranslate2::Translator(o.model, ctranslate2::Device::CPU,
                                 ctranslate2::str_to_compute_type(o.compute), {0},
                                 /*tensor_parallel=*/false, pool);
}

int run_score(const Options& o) {
  const auto vocab = read_vocabulary(o.model);
  auto translator = load(o);
  const auto results = translator.score_batch({ids_to_tokens(o.source_ids, vocab, "--source")},
                                              {ids_to_tokens(o.target_ids, vocab, "--target")});
  for (size_t i = 0; i < results[0].tokens.size(); ++i)
    std::printf("%s %.7g\n", results[0].tokens[i].c_str(), results[0].tokens_score[i]);
  return 0;
}

int run_translate(const Options& o) {
  const auto vocab = read_vocabulary(o.model);
  std::map<std::string, size_t> id_of;
  for (size_t i = 0; i < vocab.size(); ++i) id_of.emplace(vocab[i], i);
  std::ifstream in(o.sources);
  if (!in) fail(o.sources + ": cannot open the sources file");
  std::vector<std::vector<std::string>> sources;
  std::string line;
  for (size_t line_no = 1; std::getline(in, line); ++line_no)
    sources.push_back(ids_to_tokens(line, vocab, o.sources + ":" + std::to_string(line_no)));
  if (sources.empty()) fail(o.sources + ": no source lines");

  ctranslate2::TranslationOptions t;
  t.beam_size = o.beam;
  t.min_decoding_length = o.length;
  t.max_decoding_length = o.length;
  t.num_hypotheses = 1;
  auto translator = load(o);

  std::vector<double> rates, seconds;
  size_t tokens = 0;
  for (int run = -1; run < (o.print ? 0 : o.repeats); ++run) {  // run -1 warms up
    const auto start = std::chrono::steady_clock::now();
    const auto results = translator.translate_batch(sources, t, o.batch);
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    tokens = 0;
    for (const auto& r : results) {
      if (r.output().size() != o.length)
        fail("a hypothesis has " + std::to_string(r.output().size()) + " tokens, expected " +
             std::to_string(o.length));
      tokens += r.output().size();
    }
    if (o.print) {
      for (const auto& r : results) {
        std::string ids;
        for (const auto& token : r.output()) ids += (ids.empty() ? "" : " ") + std::to_string(id_of.at(token));
        std::puts(ids.c_str());
      }
      return 0;
    }
    if (run < 0) continue;
    seconds.push_back(elapsed.count());
    rates.push_back(static_cast<double>(tokens) / elapsed.count());
  }
  std::sort(rates.begin(), rates.end());
  std::sort(seconds.begin(), seconds.end());
  const auto median = [](const std::vector<double>& v) {
    return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
  };
  std::printf("ctranslate2 %s, %zu threads; beam %zu, batch %zu; %zu sentences, %zu target tokens; "
              "median of %d runs: %.2f s, %.1f target tokens/s\n",
              o.compute.c_str(), o.threads, o.beam, o.batch, sources.size(), tokens, o.repeats,
              median(seconds), median(rates));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  try {
    return o.mode == "score" ? run_score(o) : run_translate(o);
  } catch (const std::exception& e) {
    fail(e.what());
  }
}
