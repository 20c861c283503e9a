#pragma once
// Cleaning rules for parallel messages taken from software catalogues and the Bible, applied
// to both sides of a pair: markup and keyboard accelerators removed, entities decoded,
// whitespace collapsed; pairs with format placeholders, too few words, URLs or options,
// an implausible length ratio or an untranslated target are rejected with a reason.
#include <optional>
#include <string>
#include <string_view>

namespace tessera::mt {

struct CleaningRules {
  int min_source_words = 3;
  int max_bytes = 400;
  double max_length_ratio = 3.0;  // bytes of the longer side / bytes of the shorter side
};

// True when `text` holds a printf, Python, brace or shell placeholder (%s, %1$d, %(name)s, {0},
// ${HOME}).
bool has_placeholder(std::string_view text);
// Markup tags dropped, &amp; &lt; &gt; &quot; &apos; &#NN; decoded, accelerators (_File, &File,
// (_F)) removed, control characters and runs of whitespace become one space, ends trimmed.
std::string clean_message(std::string_view text);

// nullopt when the pair is kept; otherwise the rejection reason ("placeholder", "short",
// "long", "ratio", "untranslated", "url-or-option", "empty", "invalid-utf8").
std::optional<std::string> reject_reason(const std::string& source, const std::string& target,
                                         const CleaningRules& rules);

bool valid_utf8(std::string_view text);

}  // namespace tessera::mt
