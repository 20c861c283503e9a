#pragma once
// Server counters, gauges and latency histograms, rendered in Prometheus' text exposition
// format for /metrics. Thread-safe: HTTP threads and the scheduler record concurrently.
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace tessera::serve {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // Appends the _bucket/_sum/_count lines of `name`.
  void render(const std::string& name, std::string& out) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket (not cumulative); the last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  void request_finished(const std::string& endpoint, int status, double seconds);
  void tokens(int64_t prompt_tokens, int64_t completion_tokens);
  void time_to_first_token(double seconds);
  void time_per_output_token(double seconds);
  void batch_size(int64_t sequences);
  void set_queue(int64_t waiting, int64_t running);
  void cancelled();
  std::string render() const;

  int64_t requests_total() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  uint64_t prompt_tokens_ = 0, completion_tokens_ = 0, cancelled_ = 0;
  int64_t waiting_ = 0, running_ = 0;
  Histogram request_seconds_, ttft_seconds_, token_seconds_, batch_sizes_;
};

}  // namespace tessera::serve
