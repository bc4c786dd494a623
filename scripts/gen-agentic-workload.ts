// Generates an agentic multi-tenant workload in the trace format of ../shared/traces (Mooncake): tenants run agents
// whose prompts start with tool definitions, every agent step's prompt grows by the previous step's tool call and
// tool output, a few sessions run long, and sessions start in bursts (a tenant launching a batch of tasks).
// Seeded and deterministic.
//
//   npx tsx scripts/gen-agentic-workload.ts [--seed 1] [--requests 500] [--out bench/workloads/agentic-s1.jsonl]
//
// A session's prompt is the tenant's tool definitions + task + (tool call, tool output) per step so far. The tool
// definitions are one whole 512-token block shared by every session of the tenant (in the trace format a block can
// be shared only whole). Step k's prompt extends step k-1's. Steps are spaced by the time the agent needs to answer and run its tool; requests are open-loop
// (timestamps fixed), as in every trace replay.
import { writeFileSync } from 'node:fs';
import { traceToJsonl, type TraceRecord } from '../bench/routing-lab/trace.ts';
import { num, parseFlags } from '../src/util/args.ts';
import { blockIdAllocator, blockIds, draws, type Segment } from './gen-workload.ts';

export interface AgenticOptions {
  seed: number;
  /** Requests to generate (the trace is cut at this count, in time order). */
  requests: number;
  /** Mean new sessions per second (bursts included). */
  sessionRate: number;
}

export const AGENTIC_DEFAULTS: Omit<AgenticOptions, 'seed'> = { requests: 500, sessionRate: 0.1 };

const TENANTS = 10;
/** Prompt past which a session stops. */
const MAX_PROMPT = 3_000;

export function generateAgenticWorkload(o: AgenticOptions): TraceRecord[] {
  const { rand, exp, int, logNormal, zipf } = draws(o.seed);
  const pickTenant = zipf(TENANTS, 0.8);
  const idOf = blockIdAllocator();

  const records: TraceRecord[] = [];
  let session = 0;
  const runSession = (tenant: number, start: number) => {
    const s = session++;
    const segments: Segment[] = [
      { key: `tools${tenant}`, tokens: 512, shared: true },
      { key: `s${s}task`, tokens: int(40, 200), shared: false },
    ];
    // Most agent runs take a few steps; one in ten is a long one (a coding agent working through a repository).
    const steps = rand() < 0.1 ? 8 + Math.floor(exp(8)) : 1 + Math.floor(exp(3));
    let t = start;
    for (let step = 0; step < steps; step++) {
      const input = segments.reduce((a, x) => a + x.tokens, 0);
      const output = Math.max(8, Math.min(400, Math.round(logNormal(60, 0.6)))); // a tool call
      if (input + output > MAX_PROMPT) break;
      records.push({ timestamp: Math.round(t), input_length: input, output_length: output, hash_ids: blockIds(segments, input, s, idOf) });
      segments.push({ key: `s${s}call${step}`, tokens: output, shared: false });
      segments.push({ key: `s${s}out${step}`, tokens: Math.max(10, Math.min(1500, Math.round(logNormal(80, 0.9)))), shared: false });
      // The agent answers (a few seconds on a CPU engine) and runs its tool before its next step.
      t += 3_000 + logNormal(2_000, 0.8);
    }
  };

  // Sessions start as a Poisson process; a third of the starts are a tenant's batch of 3-8 tasks at once.
  let t = 0;
  while (records.length < o.requests * 3) {
    t += exp(1000 / o.sessionRate) * (rand() < 1 / 3 ? 5.5 : 1);
    const tenant = pickTenant();
    const batch = rand() < 1 / 3 ? int(3, 8) : 1;
    for (let k = 0; k < batch; k++) runSession(tenant, t + k * exp(400));
  }
  return records.sort((a, b) => a.timestamp - b.timestamp).slice(0, o.requests);
}

async function main(argv: string[]): Promise<void> {
  const f = parseFlags(argv, {
    seed: { type: 'string' },
    requests: { type: 'string' },
    'session-rate': { type: 'string' },
    out: { type: 'string' },
  });
  const seed = num('seed', f.seed, 1);
  const records = generateAgenticWorkload({
    seed,
    requests: num('requests', f.requests, AGENTIC_DEFAULTS.requests),
    sessionRate: num('session-rate', f['session-rate'], AGENTIC_DEFAULTS.sessionRate),
  });
  const out = f.out ?? `bench/workloads/agentic-s${seed}.jsonl`;
  writeFileSync(out, traceToJsonl(records));
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const input = sum(records.map((r) => r.input_length));
  const span = (records.at(-1)!.timestamp - records[0]!.timestamp) / 1000;
  console.error(`${records.length} requests over ${span.toFixed(0)} s, ${input} prompt tokens (mean ${(input / records.length).toFixed(0)}), mean output ${(sum(records.map((r) => r.output_length)) / records.length).toFixed(0)} -> ${out}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
