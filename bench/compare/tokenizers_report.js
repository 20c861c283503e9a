// Composes the tokenizer throughput table from bench_tokenizers' Google Benchmark JSON and
// the tiktoken baseline lines (bench/compare/tokenizers_run.sh calls it).
//   node tokenizers_report.js TESSERA_JSON TIKTOKEN_CL100K_JSON TIKTOKEN_LLAMA3_JSON
const fs = require("fs");
const os = require("os");

const [tesseraFile, ...baselineFiles] = process.argv.slice(2);
const tessera = JSON.parse(fs.readFileSync(tesseraFile, "utf8"));
const baselines = Object.fromEntries(baselineFiles.map((f) => {
  const line = JSON.parse(fs.readFileSync(f, "utf8"));
  return [line.encoding === "llama3" ? "Llama3" : "Cl100k", line];
}));

// Median over the timed runs of BM_Encode<Name>/<threads> (each run encodes the corpus once).
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const runs = {};
for (const b of tessera.benchmarks) {
  if (b.run_type !== "iteration") continue;
  const match = b.run_name.match(/BM_Encode(\w+)\/(\d+)/);
  if (!match) continue;
  const key = `${match[1]}/${match[2]}`;
  const seconds = b.real_time / 1e3;  // reported in ms
  const bytes = b.bytes_per_second * seconds;
  (runs[key] ||= []).push({ wall: bytes / 1e6 / seconds, perCpu: bytes / 1e6 / (b.cpu_time / 1e3), tokens: b.tokens, checksum: b.checksum });
}
const medians = Object.fromEntries(Object.entries(runs).map(([key, list]) => [key, {
  wall: median(list.map((r) => r.wall)), perCpu: median(list.map((r) => r.perCpu)),
  tokens: list[0].tokens, checksum: list[0].checksum, count: list.length,
}]));

const rows = [];
let mismatch = false;
for (const name of ["Cl100k", "Llama3"]) {
  const base = baselines[name];
  const one = medians[`${name}/1`], two = medians[`${name}/2`];
  if (!base || !one || !two) continue;
  const same = one.tokens === base.tokens && one.checksum === base.checksum;
  mismatch ||= !same;
  rows.push(`| ${name === "Cl100k" ? "cl100k_base" : "Llama-3 tokenizer.json"} | ${base.mb_per_s_median.toFixed(2)} (${base.mb_per_cpu_s_median.toFixed(2)}) ` +
            `| ${one.wall.toFixed(2)} (${one.perCpu.toFixed(2)}) | ${two.wall.toFixed(2)} (${two.perCpu.toFixed(2)}) ` +
            `| ${(one.wall / base.mb_per_s_median).toFixed(2)}x (${(one.perCpu / base.mb_per_cpu_s_median).toFixed(2)}x) ` +
            `| ${(two.wall / base.mb_per_s_median).toFixed(2)}x | ${same ? "identical" : "DIFFERENT"} (${base.tokens} tokens) |`);
}
console.log(`Machine: ${os.cpus()[0].model}, ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}; ` +
            `corpus ${(baselines.Cl100k?.bytes / 1e6).toFixed(1)} MB, ${baselines.Cl100k?.documents} documents; ` +
            `median of ${medians["Cl100k/1"]?.count} runs per cell.`);
console.log("MB/s by wall clock (in parentheses: MB per CPU-second, robust on a shared machine).\n");
console.log("| encoding | npm tiktoken (WASM), 1 thread | Tessera, 1 thread | Tessera, 2 threads | ratio 1 thread | ratio 2 threads | tokens |");
console.log("| --- | --- | --- | --- | --- | --- | --- |");
rows.forEach((r) => console.log(r));
if (mismatch) {
  console.error("tokenizers_report: Tessera and tiktoken produced different tokens");
  process.exit(1);
}
