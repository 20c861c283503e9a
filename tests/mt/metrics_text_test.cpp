// Tokenizers and Python string semantics; expected strings were produced by sacrebleu 2.6.0.
#include <gtest/gtest.h>

#include "tessera/core/error.h"
#include "tessera/mt/metrics_io.h"
#include "tessera/mt/metrics_tokenizers.h"
#include "tessera/mt/metrics_unicode.h"

namespace tessera::mt {
namespace {

TEST(UnicodeTest, PythonWhitespace) {
  for (char32_t c : {U'\t', U'\n', U'\x0b', U'\x1c', U' ', U'\u0085', U'\u00a0', U'\u1680', U'\u2000',
                     U'\u200a', U'\u2028', U'\u202f', U'\u205f', U'\u3000'}) {
    EXPECT_TRUE(is_python_whitespace(c)) << static_cast<uint32_t>(c);
  }
  for (char32_t c : {U'a', U'\u200b', U'\ufeff', U'\u180e'}) EXPECT_FALSE(is_python_whitespace(c));
  std::vector<std::string_view> expected = {"a", "b", "c"};
  EXPECT_EQ(split_whitespace("  a\u00a0b\u3000 c \t"), expected);
  EXPECT_EQ(rstrip_whitespace("x y \u3000\t"), "x y");
  EXPECT_EQ(strip_whitespace("\u2009 x "), "x");
  EXPECT_EQ(collapse_whitespace("  a  b\t"), "a b");
}

TEST(UnicodeTest, PythonLower) {
  EXPECT_EQ(python_lower("ABC def"), "abc def");
  EXPECT_EQ(python_lower("ΣΟΦΙΑΣ"), "σοφιας");  // final sigma
  EXPECT_EQ(python_lower("İ"), "i\u0307");
  EXPECT_EQ(python_lower("ÄRGER ǅ"), "ärger ǆ");
}

TEST(UnicodeTest, Utf8Validation) {
  EXPECT_EQ(find_invalid_utf8("héllo 中文 😀"), std::string_view::npos);
  EXPECT_EQ(find_invalid_utf8("ab\xff"), 2u);
  EXPECT_EQ(find_invalid_utf8("\xc0\xaf"), 0u);      // overlong
  EXPECT_EQ(find_invalid_utf8("\xed\xa0\x80"), 0u);  // surrogate
  EXPECT_EQ(find_invalid_utf8("x\xe4\xb8"), 1u);     // truncated
}

TEST(TokenizerTest, Mteval13a) {
  EXPECT_EQ(tokenize_13a("Hello, world. It's 3.14 or 1,000 (hi)!"),
            "Hello , world . It's 3.14 or 1,000 ( hi ) !");
  EXPECT_EQ(tokenize_13a("A-1 x-y 1990-2000 &amp;&lt;b&gt; <skipped>end"), "A-1 x-y 1990 - 2000 & < b > end");
  EXPECT_EQ(tokenize_13a("naïve café—“quoted” 1.5% $3.00 a.b,c"),
            "naïve café—“quoted” 1.5 % $ 3.00 a . b , c");
}

TEST(TokenizerTest, International) {
  EXPECT_EQ(tokenize_intl("Hello, world. It's 3.14 or 1,000 (hi)!"),
            "Hello , world . It ' s 3.14 or 1,000 ( hi ) !");
  EXPECT_EQ(tokenize_intl("A-1 x-y 1990-2000 &amp;&lt;b&gt; <skipped>end"),
            "A - 1 x - y 1990-2000 & amp ; & lt ; b & gt ; < skipped > end");
  EXPECT_EQ(tokenize_intl("naïve café—“quoted” 1.5% $3.00 a.b,c"),
            "naïve café — “ quoted ” 1.5 % $ 3.00 a . b , c");
}

TEST(TokenizerTest, ChineseIncludingSacrebleuRangeQuirk) {
  EXPECT_EQ(tokenize_zh("我爱北京天安门。Hello, world!"), "我 爱 北 京 天 安 门 。 Hello , world !");
  EXPECT_EQ(tokenize_zh("价格€5—“好”"), "价 格 € 5 — “ 好 ”");
  EXPECT_TRUE(is_sacrebleu_chinese_char(U'\u2014'));    // em dash, via '\u20000'
  EXPECT_FALSE(is_sacrebleu_chinese_char(U'\U00020000'));  // extension B is not covered
  EXPECT_FALSE(is_sacrebleu_chinese_char(U'\u2000'));
}

TEST(TokenizerTest, CharacterAndTercom) {
  EXPECT_EQ(tokenize_char("ab c\u00a0d"), "a b c d");
  TercomOptions normalized{true, false, true, false};
  EXPECT_EQ(tokenize_tercom("He's here, isn't he? 3.5 1-2 &quot;OK&quot; 中文。", normalized),
            "he 's here , isn't he ? 3.5 1 - 2 \" ok \" 中 文 。");
  TercomOptions no_punct{false, true, false, false};
  EXPECT_EQ(tokenize_tercom("Hello, (World)! a.b", no_punct), "hello world ab");
}

TEST(SegmentReaderTest, SplitsOnNewlineAndStrips) {
  auto segments = split_segments("a b \r\n\nc\u00a0\u2028x\n", "t.txt");
  std::vector<std::string> expected = {"a b", "", "c\u00a0\u2028x"};
  EXPECT_EQ(segments, expected);
  EXPECT_THROW(split_segments("", "t.txt"), Error);
  try {
    split_segments("ok\nbad \xff here\n", "t.txt");
    FAIL() << "invalid UTF-8 accepted";
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "t.txt: line 2: invalid UTF-8 at byte 5 of the line (0xFF)");
  }
  EXPECT_THROW(read_segments("/nonexistent/file.txt"), Error);
}

}  // namespace
}  // namespace tessera::mt
