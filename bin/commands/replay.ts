// `kvroute replay`: the routing lab. Replays a trace (../shared/traces format) through a routing policy onto
// simulated engines, in-process (discrete-event, fast) or with --e2e through the real router over HTTP to real
// simulator processes, or to engines that already run (--backend-urls). With --json the last stdout line is one
// JSON object of metrics.
import { readFileSync } from 'node:fs';
import { affinityConfigSchema, policyOptionsSchema } from '../../src/config/affinity.ts';
import { engineKinds } from '../../src/config/schema.ts';
import { policyNames } from '../../src/routing/policies/index.ts';
import { prepareTrace } from '../../bench/routing-lab/prepare.ts';
import { progressBar } from '../../bench/routing-lab/progress.ts';
import { DEFAULT_LOOKUP_RTT_MS } from '../../bench/routing-lab/simulate.ts';
import { runLab } from '../../bench/routing-lab/run.ts';
import { parseTrace } from '../../bench/routing-lab/trace.ts';
import { num, parseFlags } from '../../src/util/args.ts';
import { DEFAULT_POPULARITY_SYNC_MS } from '../../src/routing/policies/shared-popularity.ts';

const HELP = `usage: kvroute replay --trace FILE [options]

  --trace FILE            JSONL trace ({timestamp, input_length, output_length, hash_ids})
  --policy NAME           ${policyNames.join(' | ')} | default   (default: default)
  --backends N            simulated engines (default 8)
  --replicas R            router replicas sharing nothing, each sees a random 1/R of requests (default 1)
  --capacity-tokens C     KV capacity per engine in tokens (default 500000)
  --time-scale S          divide arrival times by S (default 1)
  --scrape-ms MS          engine-load scrape interval seen by the routers (default 1000)
  --load-signal S         scrape | piggyback (load learnt from each response's headers, as --e2e does)
  --popularity-sync-ms MS replicas exchange prefix popularity with one board (the Durable Object tier) this
                          often in simulated ms; 0 = each replica counts alone (default 2000)
  --lookup-rtt-ms MS      round trip of a policy's lookup at that board before placing a long prompt on a
                          stale view, charged to that request (default 30)
  --limit N               replay only the first N requests
  --load-factor X         policy option loadFactor
  --hot-share X           policy option hotShare (prefix-affinity)
  --block-chars N         router hash block size (default 512)
  --max-blocks N          router hash block cap (default 128)
  --options JSON          other policy options, e.g. '{"trendFactor":1.3}'
  --seed N                replica assignment / random policy seed (default 1)
  --e2e                   through the real router on Node and simulator processes over HTTP
  --speedup X             --e2e: simulated ms per wall ms (default 20)
  --backend-urls URL,...  --e2e: engines that already run (one backend each) instead of simulators; real time.
                          Their bearer key, if any, is read from KVROUTE_BACKEND_API_KEY
  --engine KIND           engine kind of --backend-urls: ${engineKinds.join(' | ')}
                          (default openai-compatible: no engine load for the router, receipts still read)
  --backend-model NAME    model name sent to --backend-urls (default llama-3.1-8b)
  --chars-per-token X     characters of prompt text per trace token, at most 4 (default 4, the simulator's
                          tokenizer; about 1 for a byte-level vocabulary such as kvroute engine's model)
  --max-tokens N          cap on each request's output tokens (default: the trace's output_length)
  --turns-wait            --e2e: a request that extends an earlier request's whole prompt (a conversation's next
                          turn) is sent no sooner than that request's response has ended, as a client would
  --json                  last stdout line: one JSON object with the metrics
`;

export async function main(argv: string[]): Promise<number> {
  const f = parseFlags(argv, {
    trace: { type: 'string' },
    policy: { type: 'string', default: 'default' },
    backends: { type: 'string' },
    replicas: { type: 'string' },
    'capacity-tokens': { type: 'string' },
    'time-scale': { type: 'string' },
    'scrape-ms': { type: 'string' },
    'load-signal': { type: 'string' },
    'popularity-sync-ms': { type: 'string' },
    'lookup-rtt-ms': { type: 'string' },
    limit: { type: 'string' },
    'load-factor': { type: 'string' },
    'hot-share': { type: 'string' },
    'block-chars': { type: 'string' },
    'max-blocks': { type: 'string' },
    seed: { type: 'string' },
    options: { type: 'string' },
    e2e: { type: 'boolean', default: false },
    speedup: { type: 'string' },
    'backend-urls': { type: 'string' },
    engine: { type: 'string' },
    'backend-model': { type: 'string' },
    'chars-per-token': { type: 'string' },
    'max-tokens': { type: 'string' },
    'turns-wait': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  });
  if (f.help || !f.trace) {
    process.stdout.write(HELP);
    return f.help ? 0 : 2;
  }
  const affinity = affinityConfigSchema.parse({
    blockChars: num('block-chars', f['block-chars'], 512),
    maxBlocks: num('max-blocks', f['max-blocks'], 128),
  });
  const options = {
    policy: f.policy,
    policyOptions: {
      ...(f.options ? policyOptionsSchema.parse(JSON.parse(f.options)) : {}),
      ...(f['load-factor'] ? { loadFactor: num('load-factor', f['load-factor'], 0) } : {}),
      ...(f['hot-share'] ? { hotShare: num('hot-share', f['hot-share'], 0) } : {}),
    },
    backends: num('backends', f.backends, 8),
    replicas: num('replicas', f.replicas, 1),
    capacityTokens: num('capacity-tokens', f['capacity-tokens'], 500_000),
    timeScale: num('time-scale', f['time-scale'], 1),
    scrapeMs: num('scrape-ms', f['scrape-ms'], 1000),
    popularitySyncMs: num('popularity-sync-ms', f['popularity-sync-ms'], DEFAULT_POPULARITY_SYNC_MS),
    lookupRttMs: num('lookup-rtt-ms', f['lookup-rtt-ms'], DEFAULT_LOOKUP_RTT_MS),
    seed: num('seed', f.seed, 1),
  };
  const external = externalOptions(f);
  if (external && !f.e2e) throw new Error('--backend-urls, --engine and --backend-model need --e2e');
  const records = parseTrace(readFileSync(f.trace, 'utf8'), num('limit', f.limit, Infinity));
  let result: object;
  if (f.e2e) {
    const { replayE2e } = await import('../../bench/routing-lab/e2e.ts');
    const charsPerToken = num('chars-per-token', f['chars-per-token'], 4);
    if (!(charsPerToken > 0 && charsPerToken <= 4)) throw new Error(`--chars-per-token must be more than 0 and at most 4, got ${charsPerToken}`);
    const maxTokens = f['max-tokens'] === undefined ? undefined : num('max-tokens', f['max-tokens'], 0);
    if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && maxTokens >= 1)) throw new Error(`--max-tokens must be a whole number of at least 1, got ${f['max-tokens']}`);
    result = await replayE2e(records, {
      ...options,
      ...external,
      ...(external ? { backends: external.backendUrls.length } : {}),
      speedup: num('speedup', f.speedup, 20),
      blockChars: affinity.blockChars,
      maxBlocks: affinity.maxBlocks,
      charsPerToken,
      maxTokens,
      turnsWait: f['turns-wait'],
      onProgress: progressBar('e2e'),
    });
  } else {
    const trace = prepareTrace(records, { hash: { blockChars: affinity.blockChars, maxBlocks: affinity.maxBlocks } });
    const loadSignal = f['load-signal'] === 'piggyback' ? 'piggyback' : 'scrape';
    result = { ...runLab(trace, { ...options, loadSignal, onProgress: progressBar(options.policy) }), loadSignal };
  }
  if (f.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return 0;
}

/** --backend-urls and the flags that describe those engines; undefined when none is given. */
function externalOptions(f: { 'backend-urls'?: string; engine?: string; 'backend-model'?: string }) {
  if (f['backend-urls'] === undefined) {
    if (f.engine !== undefined || f['backend-model'] !== undefined) throw new Error('--engine and --backend-model describe the engines of --backend-urls: give --backend-urls too');
    return undefined;
  }
  const backendUrls = f['backend-urls'].split(',').map((u) => u.trim()).filter(Boolean).map((u) => {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new Error(`--backend-urls: '${u}' is not a URL; give base URLs such as http://127.0.0.1:8080,http://127.0.0.1:8081`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--backend-urls: '${u}' must be an http or https URL`);
    return u.replace(/\/+$/, '');
  });
  if (backendUrls.length === 0) throw new Error('--backend-urls: give at least one URL, comma-separated');
  const engine = f.engine ?? 'openai-compatible';
  if (!(engineKinds as readonly string[]).includes(engine)) throw new Error(`--engine must be one of ${engineKinds.join(', ')}, got '${engine}'`);
  return {
    backendUrls,
    engine: engine as (typeof engineKinds)[number],
    backendModel: f['backend-model'],
    backendApiKey: process.env.KVROUTE_BACKEND_API_KEY || undefined,
  };
}
