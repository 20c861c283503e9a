// A load generator for OpenAI-compatible servers (Tessera's `serve`, llama.cpp's
// llama-server, ...): C concurrent clients each send R streamed /v1/completions requests
// back to back; reported are aggregate completion tokens/s, time to first token and time
// between tokens (p50/p99), errors, and the server's resident memory before and after when
// its pid is given.
//   bench_serve_load --endpoint http://127.0.0.1:8080/v1 --clients 1,4,16 --requests 8
//                    --max-tokens 64 [--prompt-words 32 | --prompt-tokens 64] [--eos-id ID]
//                    [--server-pid PID] [--api-key K]
// Output: one JSON object per client count on stdout (and a table on stderr).
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string path = "/v1";
  std::string api_key;
  std::string model = "bench";
  std::vector<int> clients = {1, 4, 16};
  int requests = 8;
  int max_tokens = 64;
  int prompt_words = 32;
  int prompt_tokens = 0;  // > 0: send this many token ids instead of words (same prefill anywhere)
  double temperature = 0.8;
  int eos_id = -1;        // suppressed with logit_bias when >= 0 (ignore_eos is sent as well)
  long server_pid = 0;
};

struct Sample {
  bool ok = false;
  int tokens = 0;
  double ttft = 0;
  std::vector<double> gaps;
};

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

long resident_kib(long pid) {
  if (pid <= 0) return 0;
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

Sample one_request(const Options& o, httplib::Client& client, const std::string& body) {
  Sample sample;
  auto start = Clock::now();
  auto last = start;
  std::string buffer;
  int status = 0;
  bool done = false;
  httplib::Request req;
  req.method = "POST";
  req.path = o.path + "/completions";
  req.body = body;
  req.set_header("Content-Type", "application/json");
  if (!o.api_key.empty()) req.set_header("Authorization", "Bearer " + o.api_key);
  req.response_handler = [&](const httplib::Response& r) {
    status = r.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
    buffer.append(data, size);
    size_t end;
    while ((end = buffer.find("\n\n")) != std::string::npos) {
      std::string event = buffer.substr(0, end);
      buffer.erase(0, end + 2);
      if (event.rfind("data: ", 0) != 0) continue;
      std::string payload = event.substr(6);
      if (payload == "[DONE]") {
        done = true;
        continue;
      }
      auto chunk = nlohmann::json::parse(payload, nullptr, false);
      if (chunk.is_discarded()) continue;
      bool has_text = false;
      if (chunk.contains("choices") && chunk["choices"].is_array()) {
        for (const auto& c : chunk["choices"]) {
          if (c.contains("text") && c["text"].is_string() && !c["text"].get<std::string>().empty())
            has_text = true;
        }
      }
      auto now = Clock::now();
      if (has_text) {
        if (sample.ttft == 0) {
          sample.ttft = std::chrono::duration<double>(now - start).count();
        } else {
          sample.gaps.push_back(std::chrono::duration<double>(now - last).count());
        }
        last = now;
      }
      if (chunk.contains("usage") && chunk["usage"].is_object()) {
        sample.tokens = chunk["usage"].value("completion_tokens", sample.tokens);
      }
    }
    return true;
  };
  auto result = client.send(req);
  // A completion may legitimately be empty (the model chose an end token first).
  sample.ok = result && status == 200 && done;
  if (!sample.ok && std::getenv("BENCH_SERVE_DEBUG")) {
    std::fprintf(stderr, "failed request: result %s, status %d, [DONE] %s, tail %s\n",
                 result ? "ok" : httplib::to_string(result.error()).c_str(), status,
                 done ? "seen" : "missing", buffer.substr(0, 200).c_str());
  }
  return sample;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, sep)) parts.push_back(part);
  return parts;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", flag.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (flag == "--endpoint") {
      std::string url = value();
      if (url.rfind("http://", 0) != 0) {
        std::fprintf(stderr, "--endpoint must be http://host:port/path\n");
        std::exit(2);
      }
      std::string rest = url.substr(7);
      size_t slash = rest.find('/');
      std::string authority = rest.substr(0, slash);
      o.path = slash == std::string::npos ? "" : rest.substr(slash);
      while (!o.path.empty() && o.path.back() == '/') o.path.pop_back();
      size_t colon = authority.rfind(':');
      o.host = authority.substr(0, colon);
      o.port = colon == std::string::npos ? 80 : std::atoi(authority.c_str() + colon + 1);
    } else if (flag == "--clients") {
      o.clients.clear();
      for (const auto& c : split(value(), ',')) o.clients.push_back(std::atoi(c.c_str()));
    } else if (flag == "--requests") {
      o.requests = std::atoi(value().c_str());
    } else if (flag == "--max-tokens") {
      o.max_tokens = std::atoi(value().c_str());
    } else if (flag == "--prompt-words") {
      o.prompt_words = std::atoi(value().c_str());
    } else if (flag == "--prompt-tokens") {
      o.prompt_tokens = std::atoi(value().c_str());
    } else if (flag == "--temperature") {
      o.temperature = std::atof(value().c_str());
    } else if (flag == "--eos-id") {
      o.eos_id = std::atoi(value().c_str());
    } else if (flag == "--server-pid") {
      o.server_pid = std::atol(value().c_str());
    } else if (flag == "--api-key") {
      o.api_key = value();
    } else if (flag == "--model") {
      o.model = value();
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      std::exit(2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  std::string prompt;
  static const char* const kWords[] = {"the",     "model", "serves", "many",
                                       "clients", "at",    "once",   "and"};
  for (int i = 0; i < o.prompt_words; ++i) prompt += std::string(i ? " " : "") + kWords[i % 8];
  std::fprintf(stderr, "%7s %8s %6s %10s %10s %10s %10s %10s %9s %9s\n", "clients", "requests",
               "errors", "tokens", "tok/s", "ttft_p50", "ttft_p99", "itl_p50", "itl_p99",
               "rss_MiB");
  for (int clients : o.clients) {
    std::vector<Sample> samples;
    std::mutex mutex;
    // Every client first sends one untimed request on its connection (connection set-up and
    // first-use costs), then all start together.
    std::atomic<int> warm{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        httplib::Client client(o.host, o.port);
        client.set_read_timeout(600, 0);
        // A connection per request: reusing one after a streamed answer fails with
        // llama-server (a Read error on the next request), and loopback connects cost ~0.1 ms.
        client.set_keep_alive(false);
        client.set_tcp_nodelay(true);
        for (int r = -1; r < o.requests; ++r) {
          if (r == 0) {
            ++warm;
            while (!go) std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
          nlohmann::json prompt_value = prompt + " " + std::to_string(c * 1000 + r);
          if (o.prompt_tokens > 0) {
            std::vector<int> ids;
            for (int t = 0; t < o.prompt_tokens; ++t)
              ids.push_back(300 + (c * 7919 + (r + 1) * 104729 + t * 31) % 20000);
            prompt_value = ids;
          }
          nlohmann::json body = {{"model", o.model},
                                 {"prompt", prompt_value},
                                 {"max_tokens", o.max_tokens},
                                 {"temperature", o.temperature},
                                 {"seed", c * 1000 + r + 1},
                                 {"stream", true},
                                 {"stream_options", {{"include_usage", true}}},
                                 {"ignore_eos", true}};
          if (o.eos_id >= 0) body["logit_bias"] = {{std::to_string(o.eos_id), -100}};
          Sample s = one_request(o, client, body.dump());
          if (r < 0) continue;
          std::lock_guard lock(mutex);
          samples.push_back(std::move(s));
        }
      });
    }
    while (warm < clients) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    long rss_before = resident_kib(o.server_pid);
    auto start = Clock::now();
    go = true;
    for (auto& t : threads) t.join();
    double wall = std::chrono::duration<double>(Clock::now() - start).count();
    long rss_after = resident_kib(o.server_pid);
    int errors = 0;
    long tokens = 0;
    std::vector<double> ttft, gaps;
    for (const Sample& s : samples) {
      if (!s.ok) {
        ++errors;
        continue;
      }
      tokens += s.tokens;
      ttft.push_back(s.ttft);
      gaps.insert(gaps.end(), s.gaps.begin(), s.gaps.end());
    }
    nlohmann::json row = {{"clients", clients},
                          {"requests", samples.size()},
                          {"errors", errors},
                          {"completion_tokens", tokens},
                          {"seconds", wall},
                          {"tokens_per_second", tokens / wall},
                          {"ttft_p50_ms", percentile(ttft, 0.5) * 1e3},
                          {"ttft_p99_ms", percentile(ttft, 0.99) * 1e3},
                          {"inter_token_p50_ms", percentile(gaps, 0.5) * 1e3},
                          {"inter_token_p99_ms", percentile(gaps, 0.99) * 1e3},
                          {"rss_before_mib", rss_before / 1024.0},
                          {"rss_after_mib", rss_after / 1024.0}};
    std::printf("%s\n", row.dump().c_str());
    std::fflush(stdout);
    std::fprintf(stderr, "%7d %8zu %6d %10ld %10.1f %10.1f %10.1f %10.2f %9.2f %4.0f->%-4.0f\n",
                 clients, samples.size(), errors, tokens, tokens / wall,
                 percentile(ttft, 0.5) * 1e3, percentile(ttft, 0.99) * 1e3,
                 percentile(gaps, 0.5) * 1e3, percentile(gaps, 0.99) * 1e3, rss_before / 1024.0,
                 rss_after / 1024.0);
  }
  return 0;
}
