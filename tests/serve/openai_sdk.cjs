// The official `openai` npm client (installed into build/npm by scripts/setup_npm.sh) against a
// running Tessera server: the client real users have. Run by tests/serve/openai_sdk_test.cpp:
//   node tests/serve/openai_sdk.cjs BASE_URL API_KEY MODEL REPO_ROOT
// Exits 0 when every check passes; otherwise prints what failed and exits 1.
'use strict';
const path = require('path');
const [baseURL, apiKey, model, root] = process.argv.slice(2);
const sdk = require(path.join(root, 'build', 'npm', 'node_modules', 'openai'));
const OpenAI = sdk.OpenAI || sdk.default || sdk;

const failures = [];
function check(condition, what) {
  if (!condition) failures.push(what);
}

async function main() {
  const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30000 });

  const models = await client.models.list();
  check(models.data.some((m) => m.id === model), `models.list has ${model}`);

  const messages = [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'Name a colour.' },
  ];
  const whole = await client.chat.completions.create({
    model, messages, max_tokens: 12, temperature: 0.7, seed: 3,
  });
  check(whole.object === 'chat.completion', 'chat object');
  check(typeof whole.choices[0].message.content === 'string', 'chat content is a string');
  check(['stop', 'length'].includes(whole.choices[0].finish_reason), 'chat finish_reason');
  check(whole.usage.total_tokens === whole.usage.prompt_tokens + whole.usage.completion_tokens,
        'chat usage adds up');

  const stream = await client.chat.completions.create({
    model, messages, max_tokens: 12, temperature: 0.7, seed: 3, stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let usage = null;
  let finish = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      if (choice.delta && choice.delta.content) text += choice.delta.content;
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  check(text === whole.choices[0].message.content, 'streamed text equals the whole answer (same seed)');
  check(finish === whole.choices[0].finish_reason, 'streamed finish_reason');
  check(usage && usage.completion_tokens === whole.usage.completion_tokens, 'usage in the final chunk');

  const schema = {
    type: 'object',
    properties: {
      colour: { type: 'string', maxLength: 8 },
      confidence: { type: 'number' },
      primary: { type: 'boolean' },
      shades: { type: 'array', items: { enum: ['light', 'dark'] }, maxItems: 2 },
    },
    required: ['colour', 'confidence', 'primary', 'shades'],
    additionalProperties: false,
  };
  for (const seed of [1, 2, 3]) {
    const structured = await client.chat.completions.create({
      model, messages, max_tokens: 240, temperature: 1.0, seed,
      response_format: { type: 'json_schema', json_schema: { name: 'colour', strict: true, schema } },
    });
    const content = structured.choices[0].message.content;
    let parsed = null;
    try { parsed = JSON.parse(content); } catch (e) { failures.push(`json_schema output parses: ${content}`); continue; }
    check(typeof parsed.colour === 'string' && [...parsed.colour].length <= 8, `colour: ${content}`);
    check(typeof parsed.confidence === 'number', `confidence: ${content}`);
    check(typeof parsed.primary === 'boolean', `primary: ${content}`);
    check(Array.isArray(parsed.shades) && parsed.shades.length <= 2 &&
          parsed.shades.every((s) => s === 'light' || s === 'dark'), `shades: ${content}`);
    check(Object.keys(parsed).every((k) => k in schema.properties), `no extra keys: ${content}`);
  }

  const legacy = await client.completions.create({ model, prompt: 'Once upon', max_tokens: 5, temperature: 0 });
  check(legacy.object === 'text_completion' && typeof legacy.choices[0].text === 'string', 'completions');

  const embedding = await client.embeddings.create({ model, input: ['alpha', 'beta'] });
  check(embedding.data.length === 2 && embedding.data[0].embedding.length > 0, 'embeddings');
  const norm = Math.sqrt(embedding.data[0].embedding.reduce((s, v) => s + v * v, 0));
  check(Math.abs(norm - 1) < 1e-4, `embedding is unit length (${norm})`);

  const stranger = new OpenAI({ baseURL, apiKey: 'sk-wrong', maxRetries: 0 });
  try {
    await stranger.chat.completions.create({ model, messages, max_tokens: 2 });
    failures.push('a wrong key is refused');
  } catch (e) {
    check(e.status === 401, `wrong key gives 401 (got ${e.status})`);
  }
  try {
    await client.chat.completions.create({ model, messages: [{ role: 'wizard', content: 'x' }] });
    failures.push('an unknown role is refused');
  } catch (e) {
    check(e.status === 400 && /messages\[0\]\.role/.test(e.message), `unknown role gives 400 naming it (${e.message})`);
  }
}

main().then(() => {
  if (failures.length) {
    console.error('openai SDK checks failed:\n  ' + failures.join('\n  '));
    process.exit(1);
  }
  console.log('openai SDK: all checks passed');
}, (error) => {
  console.error('openai SDK run failed:', error);
  process.exit(1);
});
