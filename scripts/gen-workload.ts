// Generates a second routing-lab workload in the trace format of ../shared/traces (Mooncake): many tenants
// with their own system prompts, multi-turn chats, RAG documents reused across a tenant's users, and a few
// very hot agent prompts shared across tenants. Seeded and deterministic.
//
//   npx tsx scripts/gen-workload.ts [--seed 7] [--duration-s 3600] [--rate 3.4] [--out bench/workloads/generated.jsonl]
//
// A session's prompt is a stream of segments: [hot agent prompt] + tenant system prompt + [document] + the
// conversation (user turn, answer, user turn, ...). Each turn is one request whose prompt is the stream so far,
// so a next turn extends its previous prompt. The stream is cut into 512-token blocks; a block made only of
// shared segments is named by those segments (equal prefix -> equal id, as the format requires); a block that
// holds conversation text is named by (session, block position), so a turn's partial last block is a prefix of
// the same block in the next turn.
import { writeFileSync } from 'node:fs';
import { fmix32, unitFloat } from '../src/util/hash.ts';
import { TRACE_BLOCK_TOKENS, traceToJsonl, type TraceRecord } from '../bench/routing-lab/trace.ts';
import { num, parseFlags } from '../src/util/args.ts';

export interface WorkloadOptions {
  seed: number;
  durationS: number;
  /** Mean requests per second. */
  rate: number;
}

/** A seeded generator of uniforms in [0, 1). */
export function rng(seed: number) {
  let state = fmix32(seed ^ 0x1b873593);
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    return unitFloat(fmix32(state));
  };
}

/** Seeded draws: uniforms, exponentials, integers, log-normals and Zipf pickers, all from one sequence. */
export function draws(seed: number) {
  const rand = rng(seed);
  const exp = (mean: number) => -mean * Math.log(1 - rand());
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const logNormal = (median: number, sigma: number) => median * Math.exp(sigma * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()));
  /** Index drawn from a Zipf(s) over n items. */
  const zipf = (n: number, s: number) => {
    const w = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** s);
    const total = w.reduce((a, b) => a + b, 0);
    return () => {
      let x = rand() * total;
      for (let i = 0; i < n; i++) if ((x -= w[i]!) < 0) return i;
      return n - 1;
    };
  };
  return { rand, exp, int, logNormal, zipf };
}

export function generateWorkload(o: WorkloadOptions): TraceRecord[] {
  const { rand, exp, int, logNormal, zipf } = draws(o.seed);

  const TENANTS = 60;
  const pickTenant = zipf(TENANTS, 1.0);
  const tenantPrompt = Array.from({ length: TENANTS }, () => int(300, 4000));
  const DOCS_PER_TENANT = 40;
  const pickDoc = zipf(DOCS_PER_TENANT, 1.1);
  const docLength = Array.from({ length: TENANTS * DOCS_PER_TENANT }, () => int(1500, 12000));
  // Three very hot agent prompts shared across tenants, used by 15%, 10% and 5% of sessions.
  const HOT = [6000, 9000, 3500];
  const hotShare = [0.15, 0.1, 0.05];

  const MEAN_TURNS = 4;
  const sessionRate = o.rate / MEAN_TURNS;
  const idOf = blockIdAllocator();

  const records: TraceRecord[] = [];
  let start = 0;
  for (let session = 0; ; session++) {
    start += exp(1000 / sessionRate);
    if (start > o.durationS * 1000) break;
    const segments: Segment[] = [];
    const u = rand();
    let acc = 0;
    for (let h = 0; h < HOT.length; h++) {
      acc += hotShare[h]!;
      if (u < acc) {
        segments.push({ key: `hot${h}`, tokens: HOT[h]!, shared: true });
        break;
      }
    }
    const tenant = pickTenant();
    segments.push({ key: `tenant${tenant}`, tokens: tenantPrompt[tenant]!, shared: true });
    if (rand() < 0.4) {
      const doc = tenant * DOCS_PER_TENANT + pickDoc();
      segments.push({ key: `doc${doc}`, tokens: docLength[doc]!, shared: true });
    }
    const turns = Math.min(30, 1 + Math.floor(exp(MEAN_TURNS - 1)));
    let t = start;
    for (let turn = 0; turn < turns; turn++) {
      segments.push({ key: `s${session}u${turn}`, tokens: Math.max(8, Math.round(logNormal(150, 1.0))), shared: false });
      const input = segments.reduce((a, s) => a + s.tokens, 0);
      const output = Math.max(1, Math.min(4000, Math.round(logNormal(250, 0.8))));
      if (input + output > 120_000) break;
      records.push({ timestamp: Math.round(t), input_length: input, output_length: output, hash_ids: blockIds(segments, input, session, idOf) });
      segments.push({ key: `s${session}a${turn}`, tokens: output, shared: false });
      t += exp(45_000) + 2_000;
    }
  }
  return records.filter((r) => r.timestamp <= o.durationS * 1000).sort((a, b) => a.timestamp - b.timestamp);
}

/** A run of prompt text: shared ones (an agent's or tenant's prompt, a document) are named by their key. */
/** Hands out a stable hash-block id per distinct key, numbered in order of first use. */
export function blockIdAllocator(): (key: string) => number {
  const ids = new Map<string, number>();
  return (key) => {
    let id = ids.get(key);
    if (id === undefined) ids.set(key, (id = ids.size));
    return id;
  };
}

export interface Segment {
  key: string;
  tokens: number;
  shared: boolean;
}

/** Names each 512-token block of a prompt of `input` tokens made of `segments` (see the file comment). */
export function blockIds(segments: Segment[], input: number, session: number, idOf: (k: string) => number): number[] {
  const out: number[] = [];
  const blocks = Math.ceil(input / TRACE_BLOCK_TOKENS);
  for (let b = 0; b < blocks; b++) {
    const end = (b + 1) * TRACE_BLOCK_TOKENS;
    let pos = 0;
    let key = '';
    let shared = true;
    for (const s of segments) {
      if (pos >= end) break;
      if (!s.shared) {
        shared = false;
        break;
      }
      const covered = Math.min(s.tokens, end - pos);
      key += `${s.key}:${covered}|`;
      pos += s.tokens;
    }
    out.push(idOf(shared ? key : `session${session}/block${b}`));
  }
  return out;
}

async function main(argv: string[]): Promise<void> {
  const f = parseFlags(argv, {
    seed: { type: 'string' },
    'duration-s': { type: 'string' },
    rate: { type: 'string' },
    out: { type: 'string', default: 'bench/workloads/generated.jsonl' },
  });
  const records = generateWorkload({ seed: num('seed', f.seed, 7), durationS: num('duration-s', f['duration-s'], 3600), rate: num('rate', f.rate, 3.4) });
  writeFileSync(f.out, traceToJsonl(records));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.error(`${records.length} requests, mean input ${mean(records.map((r) => r.input_length)).toFixed(0)}, mean output ${mean(records.map((r) => r.output_length)).toFixed(0)} -> ${f.out}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2));
