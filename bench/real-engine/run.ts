// Every routing policy on real engines: 4 `kvroute engine` processes (node-llama-cpp on the CPU, the generated tiny
// model, 4 slots and 1 thread each), started afresh for every run (empty caches), the router on Node in front of
// them (`kvroute replay --e2e --backend-urls`, engine kind llama-cpp, so the router reads their metrics), and a
// generated agentic workload (scripts/gen-agentic-workload.ts; one seed per repeat). Each repeat runs every policy
// once, in an order rotated from repeat to repeat. Writes every run and the per-policy medians to
// bench/results/real-engine.json, the table to .md, the chart to .svg, and prints whether the default policy
// meets its targets against round-robin and least-loaded.
//
//   WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false npx tsx bench/real-engine/run.ts \
//     [--repeats 3] [--seeds 1,2,3] [--requests 400] [--span-s 40] [--chars-per-token 0.5] [--max-tokens 16] \
//     [--policies round-robin,least-loaded,...] [--block-chars 128] [--open-loop] [--options JSON]
//     [--out bench/results/real-engine]
//   npx tsx bench/real-engine/run.ts --from bench/results/real-engine.json    # table, chart, targets again
//
// Prompt sizes: the trace's tokens x --chars-per-token characters, one token per character with the generated
// model's byte-level vocabulary. The trace's arrival times are compressed so that it spans --span-s seconds; a
// request that continues an earlier one (an agent's next step) is sent at its time or when the previous step's
// response has ended, whichever is later (--open-loop: at its time, answered or not). --options: policy options for
// every policy of the run, validated like a tenant's (e.g. '{"receipts":"ignore"}' to measure what receipts recover).
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { startEngineProcesses } from '../../gpu-backends/llama-engine/processes.ts';
import { AGENTIC_DEFAULTS, generateAgenticWorkload } from '../../scripts/gen-agentic-workload.ts';
import { affinityConfigSchema, policyOptionsSchema } from '../../src/config/affinity.ts';
import { replayE2e } from '../routing-lab/e2e.ts';
import { DEFAULT_POLICY, policyNames } from '../../src/routing/policies/index.ts';
import { num, parseFlags } from '../../src/util/args.ts';
import { chartSvg } from './chart.ts';
import { checkTargets, markdownTable, mediansByPolicy, targetLines, type Run } from './summary.ts';

const f = parseFlags(process.argv.slice(2), {
  repeats: { type: 'string' },
  seeds: { type: 'string', default: '1,2,3' },
  requests: { type: 'string' },
  'span-s': { type: 'string' },
  'chars-per-token': { type: 'string' },
  'max-tokens': { type: 'string' },
  policies: { type: 'string' },
  engines: { type: 'string' },
  slots: { type: 'string' },
  'block-chars': { type: 'string' },
  'open-loop': { type: 'boolean' },
  options: { type: 'string' },
  out: { type: 'string', default: 'bench/results/real-engine' },
  from: { type: 'string' },
});

const config = {
  repeats: num('repeats', f.repeats, 3),
  seeds: f.seeds.split(',').map((s) => num('seeds', s, 1)),
  requests: num('requests', f.requests, 400),
  spanS: num('span-s', f['span-s'], 40),
  charsPerToken: num('chars-per-token', f['chars-per-token'], 0.5),
  maxTokens: num('max-tokens', f['max-tokens'], 16),
  policies: f.policies ? f.policies.split(',') : [...policyNames],
  engines: num('engines', f.engines, 4),
  slots: num('slots', f.slots, 4),
  threads: 1,
  // The router's hash block: 128 characters are 128 tokens of the byte-level vocabulary, what the default 512
  // characters are with a usual ~4-characters-per-token vocabulary.
  blockChars: num('block-chars', f['block-chars'], 128),
  defaultPolicy: DEFAULT_POLICY,
  // An agent sends its next step only once it has the answer to the previous one: a turn waits for the previous
  // turn's response (at the compressed trace's pace the open loop sends many steps before their previous one ended).
  turnsWait: !f['open-loop'],
  policyOptions: f.options ? policyOptionsSchema.parse(JSON.parse(f.options)) : undefined,
};
const command = `npx tsx bench/real-engine/run.ts ${process.argv.slice(2).join(' ')}`.trim();

async function report(runs: Run[], cfg: typeof config, cmd: string, out: string): Promise<boolean> {
  const medians = mediansByPolicy(runs);
  const targets = checkTargets(medians, cfg.defaultPolicy);
  const table = markdownTable(medians, cfg.defaultPolicy);
  const desc = `${cfg.engines} engines x ${cfg.slots} slots (1 thread each), ${cfg.requests} agentic requests per run, seeds ${cfg.seeds.join(', ')}, medians of ${cfg.repeats} runs per policy`;
  writeFileSync(`${out}.json`, `${JSON.stringify({ command: cmd, config: cfg, machine: { cpus: os.cpus().length }, medians, targets, runs }, null, 1)}\n`);
  writeFileSync(`${out}.md`, `${desc}. \`${cmd}\`\n\n${table}\n\n${targetLines(targets)}\n`);
  writeFileSync(`${out}.svg`, await chartSvg(medians, runs, cfg.defaultPolicy, 'Routing policies on real llama.cpp engines (kvroute engine, node-llama-cpp, CPU)', desc));
  console.log(`\n${table}\n\n${targetLines(targets)}\n\nwritten: ${out}.json, ${out}.md, ${out}.svg`);
  return targets.every((t) => t.pass);
}

if (f.from) {
  const saved = JSON.parse(readFileSync(f.from, 'utf8')) as { command: string; config: typeof config; runs: Run[] };
  await report(saved.runs, saved.config, saved.command, f.from.replace(/\.json$/, ''));
  process.exit(0);
}

const { blockChars, maxBlocks } = affinityConfigSchema.parse({ blockChars: config.blockChars });
const runs: Run[] = [];
const total = config.repeats * config.policies.length;
const benchStart = performance.now();
for (let repeat = 0; repeat < config.repeats; repeat++) {
  const seed = config.seeds[repeat % config.seeds.length]!;
  const records = generateAgenticWorkload({ ...AGENTIC_DEFAULTS, seed, requests: config.requests });
  const spanMs = records.at(-1)!.timestamp - records[0]!.timestamp;
  // Every policy takes a different place in the order from one repeat to the next.
  const shift = Math.floor((repeat * config.policies.length) / config.repeats);
  const order = config.policies.map((_, i) => config.policies[(i + shift) % config.policies.length]!);
  for (const [position, policy] of order.entries()) {
    const t0 = performance.now();
    const loadAverage = os.loadavg().map((x) => Number(x.toFixed(2)));
    const engines = await startEngineProcesses(config.engines, { slots: config.slots, threads: config.threads });
    const engineStartMs = performance.now() - t0;
    try {
      const result = await replayE2e(records, {
        policy,
        backends: config.engines,
        replicas: 1,
        capacityTokens: config.slots * 4096,
        timeScale: spanMs / (config.spanS * 1000),
        blockChars,
        maxBlocks,
        backendUrls: engines.urls,
        engine: 'llama-cpp',
        charsPerToken: config.charsPerToken,
        maxTokens: config.maxTokens,
        turnsWait: config.turnsWait,
        policyOptions: config.policyOptions,
      });
      runs.push({ ...result, repeat, seed, position, engineStartMs: Math.round(engineStartMs), wallMs: Math.round(performance.now() - t0), loadAverage });
    } finally {
      await engines.close();
    }
    const r = runs.at(-1)!;
    const elapsed = (performance.now() - benchStart) / 1000;
    console.error(
      `[${runs.length}/${total}] repeat ${repeat + 1} seed ${seed} ${r.policy}: TTFT p50/p90/p99 ${Math.round(r.ttftP50Ms)}/${Math.round(r.ttftP90Ms)}/${Math.round(r.ttftP99Ms)} ms, ` +
        `processed ${r.engineProcessedPromptTokens} of ${r.promptTokens}, hit ${(r.hitRate * 100).toFixed(1)}%, busiest ${r.busiestShare.toFixed(2)}x, failed ${r.failed}, ` +
        `start ${r.engineStartMs} ms, run ${(r.wallMs / 1000).toFixed(0)} s, load ${loadAverage[0]}; ${elapsed.toFixed(0)} s so far`,
    );
    // Written after every run: an interrupted bench keeps what it measured.
    writeFileSync(`${f.out}.json`, `${JSON.stringify({ command, config, machine: { cpus: os.cpus().length }, runs }, null, 1)}\n`);
  }
}
const ok = await report(runs, config, command, f.out);
console.log(`${ok ? 'all targets met' : 'targets not met'}; ${((performance.now() - benchStart) / 60_000).toFixed(1)} min`);
