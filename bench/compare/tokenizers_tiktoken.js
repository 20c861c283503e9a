// The baseline of the tokenizer benchmark: npm `tiktoken` (OpenAI's Rust encoder compiled to
// WASM) encoding the benchmark corpus in node, one document at a time on one thread.
//
//   node bench/compare/tokenizers_tiktoken.js NODE_MODULES CORPUS ENCODING [RUNS] [LLAMA3_TOKENIZER_JSON]
//
// ENCODING is cl100k_base, o200k_base, ... or llama3: Llama-3's vocabulary is a tiktoken
// rank table (ids = ranks, the cl100k regex), so its tokenizer.json converts to one exactly.
// Prints one JSON line: MB/s of every run (wall clock), the medians (wall clock and per CPU
// second), and the token count and a checksum of the ids so the caller can check both sides
// produced the same tokens.
const fs = require("fs");
const path = require("path");
const { createRequire } = require("module");

const [modules, corpusPath, encoding, runsArg = "5", llamaJson] = process.argv.slice(2);
if (!modules || !corpusPath || !encoding) {
  console.error("usage: node tokenizers_tiktoken.js NODE_MODULES CORPUS ENCODING [RUNS] [LLAMA3_TOKENIZER_JSON]");
  process.exit(2);
}
const requireFrom = createRequire(path.join(path.resolve(modules), "anchor.js"));
const tiktoken = requireFrom("tiktoken");

function byteLevelDecoder() {
  // GPT-2's byte <-> printable character table, inverted.
  const printable = (b) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const table = new Map();
  let next = 256;
  for (let b = 0; b < 256; ++b) table.set(String.fromCodePoint(printable(b) ? b : next++), b);
  return (spelled) => Buffer.from([...spelled].map((c) => table.get(c)));
}

function llama3Encoder(tokenizerJson) {
  const spec = JSON.parse(fs.readFileSync(tokenizerJson, "utf8"));
  const toBytes = byteLevelDecoder();
  const lines = Object.entries(spec.model.vocab).map(([token, id]) => `${toBytes(token).toString("base64")} ${id}`);
  const specials = Object.fromEntries(spec.added_tokens.map((t) => [t.content, t.id]));
  const pattern = spec.pre_tokenizer.pretokenizers[0].pattern.Regex;
  return new tiktoken.Tiktoken(lines.join("\n"), specials, pattern);
}

const encoder = encoding === "llama3" ? llama3Encoder(llamaJson) : tiktoken.get_encoding(encoding);
const corpus = fs.readFileSync(corpusPath, "utf8");
const documents = corpus.split("\n\x1E\n");
const bytes = Buffer.byteLength(corpus, "utf8");
const rates = [];
const cpuRates = [];
let tokens = 0;
let checksum = 0;
for (let run = 0; run < Number(runsArg); ++run) {
  tokens = 0;
  checksum = 0;
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  for (const document of documents) {
    const ids = encoder.encode(document, "all");
    tokens += ids.length;
    for (let i = 0; i < ids.length; ++i) checksum = (checksum * 31 + ids[i]) % 1000000007;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  rates.push(bytes / 1e6 / seconds);
  cpuRates.push(bytes / 1e6 / ((cpu.user + cpu.system) / 1e6));
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
console.log(JSON.stringify({
  encoder: `npm tiktoken ${JSON.parse(fs.readFileSync(path.join(modules, "tiktoken/package.json"))).version} (WASM)`,
  encoding, bytes, documents: documents.length, tokens, checksum,
  mb_per_s_runs: rates.map((r) => Number(r.toFixed(2))),
  mb_per_s_median: Number(median(rates).toFixed(2)),
  // Throughput per second of CPU time: robust when other processes share the cores.
  mb_per_cpu_s_median: Number(median(cpuRates).toFixed(2)),
}));
