#pragma once
// The bridge from the text/ layer's tokenizers to the dataset builder: loads any tokenizer
// load_tokenizer() understands and records the file's SHA-256 so a dataset names exactly
// which tokenizer produced it.
#include <memory>
#include <optional>
#include <string>

#include "tessera/text/tokenizer.h"
#include "tessera/train/data_build.h"

namespace tessera::train {

// The end-of-document id: the tokenizer's eos_id when it declares one, else the first special
// token spelled like a common end-of-text marker (<|endoftext|>, <|end_of_text|>, </s>,
// <eos>). nullopt when there is none.
std::optional<int32_t> end_of_document_id(const text::Tokenizer& tokenizer);

// Encodes with no special tokens added and with special-token spellings in the text treated
// as plain text (a corpus that contains "<|endoftext|>" must not forge document ends).
TokenEncoder make_token_encoder(std::shared_ptr<const text::Tokenizer> tokenizer,
                                const std::string& path);
// Loads the tokenizer at `path` (file or folder) and wraps it. The hash is of the file, or of
// tokenizer.json / tokenizer.model when `path` is a folder holding one.
TokenEncoder load_token_encoder(const std::string& path);

// SHA-256 of the file a tokenizer path stands for (see load_token_encoder).
std::string tokenizer_file_sha256(const std::string& path);

}  // namespace tessera::train
