#pragma once
// The verbatim upstream prompt texts, one .cpp per upstream client file.
namespace tessera::agents::prompts {
extern const char* const kMazeInstructions;
extern const char* const kWordleInstructions;
}  // namespace tessera::agents::prompts
