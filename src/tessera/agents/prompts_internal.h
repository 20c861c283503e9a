#pragma once
// The verbatim upstream prompt texts, one .cpp per upstream client file.
namespace tessera::agents::prompts {
extern const char* const kMazeInstructions;
extern const char* const kWordleInstructions;
extern const char* const kTextCraftInstructions;
extern const char* const kBabyAIInstructions;
extern const char* const kSqlGymInstructions;
extern const char* const kTodoInstructions;
extern const char* const kWeatherInstructions;
}  // namespace tessera::agents::prompts
