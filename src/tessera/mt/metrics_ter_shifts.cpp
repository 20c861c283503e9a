// Tercom's shift search and beam edit distance, following sacrebleu's lib_ter step by step:
// the same candidate order, the same tie-breaking tuple (gain, length, earliest start,
// earliest target) and the same limits, so the edit counts agree on every input.
#include <algorithm>
#include <cmath>
#include <string>

#include "tessera/core/error.h"
#include "tessera/mt/metrics_ter.h"

namespace tessera::mt {

namespace {

constexpr int64_t kInfinity = 10000000000000000;  // int(1e16)
constexpr int kMaxShiftSize = 10;
constexpr int kMaxShiftDistance = 50;
constexpr int kBeamWidth = 25;
constexpr int kMaxShiftCandidates = 1000;

constexpr char kNop = ' ';
constexpr char kSubstitute = 's';
constexpr char kInsert = 'i';
constexpr char kDelete = 'd';
constexpr char kUndefined = 'x';

// Levenshtein distance of hypothesis to reference, exploring only a band around the
// (length-ratio scaled) diagonal; the last row is always complete. Rows of the previous call
// are reused for the common prefix, which is what sacrebleu's trie cache achieves.
class BeamEditDistance {
 public:
  explicit BeamEditDistance(const std::vector<uint32_t>& reference) : reference_(reference) {}

  // Returns the distance; writes the operations rewriting hypothesis into reference.
  int64_t operator()(const std::vector<uint32_t>& hypothesis, std::string* trace) {
    const size_t n = hypothesis.size();
    const size_t m = reference_.size();
    const size_t columns = m + 1;
    size_t reusable_rows = 0;
    if (cached_words_.size() == n && cost_.size() == (n + 1) * columns) {
      while (reusable_rows < n && cached_words_[reusable_rows] == hypothesis[reusable_rows]) {
        ++reusable_rows;
      }
    } else {
      cost_.assign((n + 1) * columns, kInfinity);
      operation_.assign((n + 1) * columns, kUndefined);
      for (size_t j = 0; j <= m; ++j) {
        cost_[j] = static_cast<int64_t>(j);
        operation_[j] = kInsert;
      }
    }
    const double length_ratio = n > 0 ? static_cast<double>(m) / static_cast<double>(n) : 1.0;
    const int64_t beam_width = kBeamWidth < length_ratio / 2
                                   ? static_cast<int64_t>(std::ceil(length_ratio / 2 + kBeamWidth))
                                   : kBeamWidth;
    for (size_t i = reusable_rows + 1; i <= n; ++i) {
      int64_t* row = cost_.data() + i * columns;
      char* row_operation = operation_.data() + i * columns;
      const int64_t* above = row - columns;
      std::fill(row, row + columns, kInfinity);
      std::fill(row_operation, row_operation + columns, kUndefined);
      const int64_t pseudo_diagonal = static_cast<int64_t>(std::floor(static_cast<double>(i) * length_ratio));
      size_t min_j = static_cast<size_t>(std::max<int64_t>(0, pseudo_diagonal - beam_width));
      size_t max_j = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(columns), pseudo_diagonal + beam_width));
      if (i == n) max_j = columns;
      for (size_t j = min_j; j < max_j; ++j) {
        if (j == 0) {
          row[0] = above[0] + 1;
          row_operation[0] = kDelete;
          continue;
        }
        const bool same = hypothesis[i - 1] == reference_[j - 1];
        // Preference on equal cost: no-op/substitution, then deletion, then insertion.
        const int64_t candidates[3] = {above[j - 1] + (same ? 0 : 1), above[j] + 1, row[j - 1] + 1};
        const char names[3] = {same ? kNop : kSubstitute, kDelete, kInsert};
        for (int k = 0; k < 3; ++k) {
          if (row[j] > candidates[k]) {
            row[j] = candidates[k];
            row_operation[j] = names[k];
          }
        }
      }
    }
    cached_words_ = hypothesis;
    if (trace != nullptr) {
      trace->clear();
      size_t i = n, j = m;
      while (i > 0 || j > 0) {
        char op = operation_[i * columns + j];
        trace->push_back(op);
        if (op == kSubstitute || op == kNop) {
          --i, --j;
        } else if (op == kInsert) {
          --j;
        } else if (op == kDelete) {
          --i;
        } else {
          throw runtime_error("TER: edit distance trace reached an unexplored cell");
        }
      }
      std::reverse(trace->begin(), trace->end());
    }
    return cost_[n * columns + m];
  }

 private:
  const std::vector<uint32_t>& reference_;
  std::vector<uint32_t> cached_words_;
  std::vector<int64_t> cost_;
  std::vector<char> operation_;
};

// Python's words[begin:end] appended to `out` (indices clamp to the list, begin > end is
// empty).
void append_slice(std::vector<uint32_t>& out, const std::vector<uint32_t>& words, int64_t begin,
                  int64_t end) {
  const int64_t size = static_cast<int64_t>(words.size());
  begin = std::clamp<int64_t>(begin, 0, size);
  end = std::clamp<int64_t>(end, 0, size);
  if (begin < end) out.insert(out.end(), words.begin() + begin, words.begin() + end);
}

// sacrebleu's _perform_shift: moves words[start:start+length] before position `target`.
void perform_shift(const std::vector<uint32_t>& words, int64_t start, int64_t length,
                   int64_t target, std::vector<uint32_t>& out) {
  out.clear();
  if (target < start) {
    append_slice(out, words, 0, target);
    append_slice(out, words, start, start + length);
    append_slice(out, words, target, start);
    append_slice(out, words, start + length, static_cast<int64_t>(words.size()));
  } else if (target > start + length) {
    append_slice(out, words, 0, start);
    append_slice(out, words, start + length, target);
    append_slice(out, words, start, start + length);
    append_slice(out, words, target, static_cast<int64_t>(words.size()));
  } else {
    append_slice(out, words, 0, start);
    append_slice(out, words, start + length, length + target);
    append_slice(out, words, start, start + length);
    append_slice(out, words, length + target, static_cast<int64_t>(words.size()));
  }
}

struct Alignment {
  std::vector<int64_t> reference_to_hypothesis;  // every reference position has an entry
  std::vector<int> reference_errors;
  std::vector<int> hypothesis_errors;
};

// sacrebleu's trace_to_alignment applied to the flipped trace (insertions and deletions
// swapped: the alignment is read as rewriting the reference into the hypothesis).
Alignment align_from_trace(const std::string& trace) {
  Alignment alignment;
  int64_t hypothesis_position = -1;
  for (char op : trace) {
    if (op == kNop || op == kSubstitute) {
      ++hypothesis_position;
      alignment.reference_to_hypothesis.push_back(hypothesis_position);
      int error = op == kSubstitute ? 1 : 0;
      alignment.hypothesis_errors.push_back(error);
      alignment.reference_errors.push_back(error);
    } else if (op == kDelete) {  // flipped to an insertion: a hypothesis word
      ++hypothesis_position;
      alignment.hypothesis_errors.push_back(1);
    } else if (op == kInsert) {  // flipped to a deletion: a reference word
      alignment.reference_to_hypothesis.push_back(hypothesis_position);
      alignment.reference_errors.push_back(1);
    }
  }
  return alignment;
}

int sum_slice(const std::vector<int>& values, int64_t begin, int64_t end) {
  end = std::min<int64_t>(end, static_cast<int64_t>(values.size()));
  int total = 0;
  for (int64_t i = begin; i < end; ++i) total += values[static_cast<size_t>(i)];
  return total;
}

struct ShiftResult {
  int64_t gain = 0;
  std::vector<uint32_t> words;
};

// sacrebleu's _shift: the shift that lowers the edit distance the most.
ShiftResult best_shift(const std::vector<uint32_t>& hypothesis,
                       const std::vector<uint32_t>& reference, BeamEditDistance& distance,
                       int& checked_candidates) {
  std::string trace;
  const int64_t before = distance(hypothesis, &trace);
  const Alignment alignment = align_from_trace(trace);
  const int64_t n = static_cast<int64_t>(hypothesis.size());
  const int64_t m = static_cast<int64_t>(reference.size());

  bool have_best = false;
  int64_t best_gain = 0, best_length = 0, best_start = 0, best_target = 0;
  std::vector<uint32_t> best_words, shifted;
  bool stop = false;
  for (int64_t start_h = 0; start_h < n && !stop; ++start_h) {
    for (int64_t start_r = 0; start_r < m && !stop; ++start_r) {
      if (std::abs(start_r - start_h) > kMaxShiftDistance) continue;
      int64_t length = 0;
      while (hypothesis[start_h + length] == reference[start_r + length] && length < kMaxShiftSize) {
        ++length;
        // Each prefix of a matching run is a candidate block (start_h, start_r, length).
        bool candidate_block =
            sum_slice(alignment.hypothesis_errors, start_h, start_h + length) != 0 &&
            sum_slice(alignment.reference_errors, start_r, start_r + length) != 0;
        const int64_t aligned = alignment.reference_to_hypothesis[static_cast<size_t>(start_r)];
        if (candidate_block && !(start_h <= aligned && aligned < start_h + length)) {
          int64_t previous_target = -1;
          for (int64_t offset = -1; offset < length; ++offset) {
            int64_t target;
            if (start_r + offset == -1) {
              target = 0;
            } else if (start_r + offset < m) {
              target = alignment.reference_to_hypothesis[static_cast<size_t>(start_r + offset)] + 1;
            } else {
              break;
            }
            if (target == previous_target) continue;
            previous_target = target;
            perform_shift(hypothesis, start_h, length, target, shifted);
            const int64_t gain = before - distance(shifted, nullptr);
            ++checked_candidates;
            // Python compares (gain, length, -start, -target, words) tuples; equal leading
            // fields imply equal words, so the first four decide.
            bool better = !have_best || gain > best_gain ||
                          (gain == best_gain &&
                           (length > best_length ||
                            (length == best_length &&
                             (start_h < best_start || (start_h == best_start && target < best_target)))));
            if (better) {
              have_best = true;
              best_gain = gain, best_length = length, best_start = start_h, best_target = target;
              best_words = shifted;
            }
          }
          if (checked_candidates >= kMaxShiftCandidates) stop = true;
        }
        if (stop || n == start_h + length || m == start_r + length) break;
      }
    }
  }
  if (!have_best) return {0, hypothesis};
  return {best_gain, std::move(best_words)};
}

}  // namespace

TerEdits translation_edit_rate(const std::vector<uint32_t>& hypothesis,
                               const std::vector<uint32_t>& reference) {
  if (reference.empty()) {
    return {static_cast<int64_t>(hypothesis.size()), 0};
  }
  BeamEditDistance distance(reference);
  int64_t shifts = 0;
  std::vector<uint32_t> words = hypothesis;
  int checked_candidates = 0;
  while (true) {
    ShiftResult shift = best_shift(words, reference, distance, checked_candidates);
    if (checked_candidates >= kMaxShiftCandidates) break;
    if (shift.gain <= 0) break;
    ++shifts;
    words = std::move(shift.words);
  }
  const int64_t edit_distance = distance(words, nullptr);
  return {shifts + edit_distance, static_cast<int64_t>(reference.size())};
}

}  // namespace tessera::mt
