// `npx kvroute engine [--model FILE] [--slots N] [--port P] [--threads T] [--context C]`: a real llama.cpp engine
// on the CPU (node-llama-cpp's prebuilt binary) behind an OpenAI-compatible server shaped like llama-server.
// Without --model it serves a tiny random-weight llama that it generates into --models-dir on first use.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { LlamaEngine } from '../../gpu-backends/llama-engine/engine.ts';
import { startEngineServer } from '../../gpu-backends/llama-engine/server.ts';
import { ensureTinyModel } from '../../gpu-backends/llama-engine/tiny-model.ts';
import { num, parseFlags } from '../../src/util/args.ts';
import { untilSignal } from '../../src/util/signals.ts';

export const ENGINE_DEFAULTS = { slots: 4, port: 8080, threads: 1, context: 4096, nPredict: 128, similarity: 0.1, modelsDir: '.kvroute/models' };

const USAGE = `usage: kvroute engine [options]

  --model FILE               a GGUF model (default: a tiny random-weight llama, generated into --models-dir)
  --slots N                  context sequences served in parallel, each with its own cached prefix (default ${ENGINE_DEFAULTS.slots})
  --port P                   listen port, 0 = a free one (default ${ENGINE_DEFAULTS.port})
  --host H                   listen address (default 127.0.0.1)
  --threads T                CPU threads (default ${ENGINE_DEFAULTS.threads})
  --context C                tokens per slot (default ${ENGINE_DEFAULTS.context})
  --alias NAME               model name in /v1/models and responses (default: the file name)
  --n-predict N              tokens generated when a request sets no max_tokens (default ${ENGINE_DEFAULTS.nPredict})
  --slot-prompt-similarity S a request reuses a slot's cached prefix when it covers more than S of its prompt,
                             else takes the least recently used free slot (default ${ENGINE_DEFAULTS.similarity}, as llama-server)
  --models-dir DIR           where the generated model is cached (default ${ENGINE_DEFAULTS.modelsDir})

Routes: POST /v1/chat/completions, /v1/completions (stream or not); GET /v1/models, /health, /metrics
(llama-server's llamacpp:* names), /slots, /props. Prints "ready: URL ..." once the model is loaded.
See docs/engine.md.`;

export async function main(argv: string[]): Promise<number> {
  const f = parseFlags(argv, {
    model: { type: 'string' },
    slots: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    threads: { type: 'string' },
    context: { type: 'string' },
    alias: { type: 'string' },
    'n-predict': { type: 'string' },
    'slot-prompt-similarity': { type: 'string' },
    'models-dir': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (f.help) {
    console.log(USAGE);
    return 0;
  }
  const positive = (name: string, v: string | undefined, dflt: number) => {
    const n = num(name, v, dflt);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number >= 1, got '${v}'`);
    return n;
  };
  const similarity = num('slot-prompt-similarity', f['slot-prompt-similarity'], ENGINE_DEFAULTS.similarity);
  if (similarity < 0 || similarity > 1) throw new Error(`--slot-prompt-similarity must be between 0 and 1, got '${f['slot-prompt-similarity']}'`);
  const port = num('port', f.port, ENGINE_DEFAULTS.port);
  if (f.model !== undefined && !existsSync(f.model)) throw new Error(`--model ${f.model}: no such file`);
  const options = {
    modelPath: f.model !== undefined ? resolve(f.model) : ensureTinyModel(resolve(f['models-dir'] ?? ENGINE_DEFAULTS.modelsDir)),
    slots: positive('slots', f.slots, ENGINE_DEFAULTS.slots),
    contextSize: positive('context', f.context, ENGINE_DEFAULTS.context),
    threads: positive('threads', f.threads, ENGINE_DEFAULTS.threads),
    defaultMaxTokens: positive('n-predict', f['n-predict'], ENGINE_DEFAULTS.nPredict),
    slotPromptSimilarity: similarity,
    alias: f.alias,
  };
  const started = performance.now();
  const server = await startEngineServer(() => LlamaEngine.load(options), { host: f.host, port });
  console.log(`kvroute engine: loading ${options.modelPath} on ${server.url}`);
  try {
    const engine = await server.ready;
    console.log(
      `ready: ${server.url} (model ${engine.modelName}, ${options.slots} slots x ${engine.slotContextSize} tokens, ${options.threads} thread(s), loaded in ${Math.round(performance.now() - started)} ms)`,
    );
  } catch (err) {
    await server.close();
    throw new Error(`could not load ${options.modelPath}: ${(err as Error).message}`, { cause: err });
  }
  await untilSignal();
  await server.close();
  return 0;
}
