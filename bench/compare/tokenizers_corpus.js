// Writes the 10 MB mixed-text corpus of the tokenizer benchmarks (bench/bench_tokenizers.cpp
// and bench/compare/tokenizers_tiktoken.js read the same file):
//   ~55% English prose (fortune files when installed, else sentences from the system word
//   list), ~15% source code (this repository's C++), ~12% other scripts (CJK, Arabic,
//   Cyrillic, Devanagari, Greek), ~10% numbers and tables, ~8% markup, URLs, emoji, CRLF.
// Deterministic for a given machine and commit. Documents are separated by "\n\x1E\n".
//
//   node bench/compare/tokenizers_corpus.js OUT_FILE [MEGABYTES]
const fs = require("fs");
const path = require("path");

const [out, megabytes = "10"] = process.argv.slice(2);
if (!out) {
  console.error("usage: node tokenizers_corpus.js OUT_FILE [MEGABYTES]");
  process.exit(2);
}
const target = Number(megabytes) * 1e6;
let seed = 20240601;
const random = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (list) => list[Math.floor(random() * list.length)];

function listFiles(dir, keep) {
  const found = [];
  if (!fs.existsSync(dir)) return found;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...listFiles(full, keep));
    else if (keep(entry.name)) found.push(full);
  }
  return found;
}

// English: fortunes (real prose), else sentences over the system dictionary.
let prose = [];
for (const file of listFiles("/usr/share/games/fortunes", (n) => !n.includes("."))) {
  const text = fs.readFileSync(file, "utf8");
  if (text.includes("\uFFFD")) continue;
  prose.push(...text.split("\n%\n").filter((s) => s.length > 20));
}
const words = fs.existsSync("/usr/share/dict/words")
  ? fs.readFileSync("/usr/share/dict/words", "utf8").split("\n").filter((w) => /^[A-Za-z']+$/.test(w))
  : "the of and to in is that for it as was with be by on not he this are or his from at which".split(" ");
const sentence = () => {
  const n = 5 + Math.floor(random() * 18);
  const ws = Array.from({ length: n }, () => pick(words));
  ws[0] = ws[0][0].toUpperCase() + ws[0].slice(1);
  return ws.join(" ") + pick([".", ".", ".", "?", "!", ";", ", and"]);
};
const english = () => (prose.length && random() < 0.7 ? pick(prose) : Array.from({ length: 3 + Math.floor(random() * 6) }, sentence).join(" "));

// Code: this repository's sources, in slices.
const root = path.resolve(__dirname, "../..");
const sources = listFiles(path.join(root, "src"), (n) => /\.(cpp|h)$/.test(n)).map((f) => fs.readFileSync(f, "utf8"));
const code = () => {
  const file = sources.length ? pick(sources) : "int main() {\n  return 0;\n}\n";
  const start = Math.floor(random() * Math.max(1, file.length - 3000));
  return file.slice(start, start + 500 + Math.floor(random() * 2500));
};

const scripts = [
  "我们 今天 天气 很好 中国 北京 上海 学习 工作 时间 问题 发展 经济 社会 文化 历史 世界 人民 国家 政府".split(" "),
  "東京 日本 ひらがな カタカナ 漢字 ありがとう ございます 今日 明日 天気 学校 先生 電車 会社".split(" "),
  "안녕하세요 한국어 서울 감사합니다 사랑 학교 친구 시간 오늘 내일".split(" "),
  "مرحبا العالم اللغة العربية جميلة كتاب مدرسة السلام عليكم شكرا".split(" "),
  "Привет мир язык русский книга школа спасибо время сегодня завтра".split(" "),
  "नमस्ते दुनिया हिन्दी भाषा किताब विद्यालय धन्यवाद समय आज कल".split(" "),
  "Γειά σου κόσμε ελληνικά βιβλίο σχολείο ευχαριστώ χρόνος σήμερα".split(" "),
];
const foreign = () => {
  const pool = pick(scripts);
  const sep = pool === scripts[0] || pool === scripts[1] ? "" : " ";
  return Array.from({ length: 10 + Math.floor(random() * 40) }, () => pick(pool)).join(sep) + pick(["。", "！", ".", "؟", "।"]);
};
const numbers = () => {
  const rows = [];
  for (let i = 0; i < 3 + Math.floor(random() * 12); ++i)
    rows.push([Math.floor(random() * 1e6), (random() * 1000).toFixed(3), "2024-0" + (1 + Math.floor(random() * 9)) + "-1" + Math.floor(random() * 9),
               Math.floor(random() * 1e12).toString().padStart(14, " ")].join(pick([",", "\t", " | ", "  "])));
  return rows.join("\n");
};
const markup = () => pick([
  () => `<div class="item-${Math.floor(random() * 100)}"><a href="https://example.org/${pick(words)}/${Math.floor(random() * 1e5)}?q=${pick(words)}&lang=en">${sentence()}</a></div>`,
  () => `{"id": ${Math.floor(random() * 1e6)}, "name": "${pick(words)}", "tags": ["${pick(words)}", "${pick(words)}"], "score": ${random().toFixed(4)}}`,
  () => `${sentence()} ${pick(["😀", "🎉", "👍🏽", "🇯🇵", "❤️", "🔥🔥🔥", "👨‍👩‍👧"])} ${sentence()}\r\n${sentence()}\r\n`,
  () => "    ".repeat(1 + Math.floor(random() * 4)) + sentence() + " ".repeat(Math.floor(random() * 30)) + "\n\n\n",
])();

const parts = [[0.55, english], [0.15, code], [0.12, foreign], [0.10, numbers], [0.08, markup]];
const docs = [];
let size = 0;
while (size < target) {
  let doc = "";
  const docSize = 1000 + Math.floor(random() * 7000);
  while (doc.length < docSize) {
    let r = random();
    for (const [share, make] of parts) {
      if ((r -= share) < 0) { doc += make() + "\n\n"; break; }
    }
  }
  docs.push(doc);
  size += Buffer.byteLength(doc, "utf8") + 3;
}
fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
fs.writeFileSync(out, docs.join("\n\x1E\n"));
console.log(`wrote ${docs.length} documents, ${(size / 1e6).toFixed(2)} MB to ${out}`);
