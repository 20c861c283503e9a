#pragma once
// tokenizer.json post-processors, for single sequences: the ids added around the encoded text
// when special tokens are requested (TemplateProcessing, BertProcessing, RobertaProcessing,
// ByteLevel, Sequence).
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <vector>

namespace tessera::text {

struct SpecialTokenFrame {
  std::vector<int32_t> prefix;  // e.g. BOS / [CLS]
  std::vector<int32_t> suffix;  // e.g. EOS / [SEP]
};

// The frame a "post_processor" value puts around a single sequence; empty for null.
SpecialTokenFrame post_processor_from_json(const nlohmann::json& spec);

}  // namespace tessera::text
