#pragma once
// Reading hypothesis and reference files the way sacrebleu's command line does.
#include <string>
#include <vector>

namespace tessera::mt {

// One segment per line: the file is decoded as UTF-8, split on '\n' only (a final newline
// does not start another segment; '\r' and other line separators stay inside the segment
// until stripping), and each segment has its trailing Python whitespace removed. BadInput
// names the file when it is missing, empty, or not valid UTF-8 (with line and byte column).
std::vector<std::string> read_segments(const std::string& path);

// Same for text already in memory; `source` names it in errors.
std::vector<std::string> split_segments(const std::string& text, const std::string& source);

}  // namespace tessera::mt
