// Loads a tokenizer.json (+ tokenizer_config.json) with transformers.js (@lenml/tokenizers, a
// port of HF tokenizers' loading and encoding) and prints the ids of each text, so tests can
// check that a tokenizer.json Tessera wrote is read the same way by the HF ecosystem.
//
//   node tests/tools/encode_with_transformers_js.mjs <node_modules dir> <tokenizer dir> <texts.json>
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const [nodeModules, tokenizerDir, textsFile] = process.argv.slice(2);
if (!nodeModules || !tokenizerDir || !textsFile) {
  console.error("usage: node encode_with_transformers_js.mjs <node_modules dir> <tokenizer dir> <texts.json>");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(nodeModules), "anchor.js"));
let TokenizerLoader;
try {
  ({ TokenizerLoader } = require("@lenml/tokenizers"));
} catch (error) {
  console.error(`missing npm package @lenml/tokenizers (${error.message.split("\n")[0]}); run scripts/setup.sh`);
  process.exit(3);
}
const read = (name) => JSON.parse(fs.readFileSync(path.join(tokenizerDir, name), "utf8"));
const tokenizer = TokenizerLoader.fromPreTrained({
  tokenizerJSON: read("tokenizer.json"),
  tokenizerConfig: read("tokenizer_config.json"),
});
const texts = JSON.parse(fs.readFileSync(textsFile, "utf8"));
const ids = texts.map((text) => Array.from(tokenizer.encode(text, { add_special_tokens: false })));
process.stdout.write(JSON.stringify(ids));
