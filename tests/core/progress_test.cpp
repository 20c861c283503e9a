#include <gtest/gtest.h>

#include "tessera/core/progress.h"

namespace tessera {
namespace {

TEST(Progress, LineShowsBarRateAndEta) {
  std::string line = Progress::format_line("train", 50, 200, "tok", 10.0, "loss 2.50", 10);
  EXPECT_EQ(line, "train [##........]  25% 50/200 5.0 tok/s eta 30s elapsed 10s | loss 2.50");
  EXPECT_EQ(Progress::format_line("data", 1500, 0, "doc", 1.0, "", 0), "data 1500 1.5k doc/s elapsed 1s");
}

TEST(Progress, HumanUnits) {
  EXPECT_EQ(human_count(999), "999.0");
  EXPECT_EQ(human_count(12345678), "12.3M");
  EXPECT_EQ(human_duration(65), "1m05s");
  EXPECT_EQ(human_duration(7380), "2h03m");
}

}  // namespace
}  // namespace tessera
