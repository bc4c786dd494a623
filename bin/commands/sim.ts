// `npx kvroute sim --backends 4 --base-port 9100 [--profile NAME]`: starts a pool of simulated vLLM backends (or
// llama-server ones, with a llama.cpp profile), prints one URL per line and then a ready line, and closes every
// backend on SIGINT/SIGTERM (exit code 0).
import { readFileSync } from 'node:fs';
import { startSimPool } from '../../gpu-backends/simulator/pool.ts';
import { DEFAULT_PROFILE, profileNames } from '../../gpu-backends/simulator/profiles.ts';
import type { FaultsInput } from '../../gpu-backends/simulator/faults.ts';
import { num, parseFlags } from '../../src/util/args.ts';
import { untilSignal } from '../../src/util/signals.ts';

const USAGE = `usage: kvroute sim [options]

  --backends N          number of backends (default 4)
  --base-port P         backend i listens on P+i (default 9100; 0 = free ports)
  --profile NAME        engine profile: ${profileNames().join(', ')} (default ${DEFAULT_PROFILE});
                        llama-cpp-32m-cpu is a llama-server with 4 slots (llamacpp: metrics, timings in responses)
  --model NAME          served model name (default llama-3.1-8b)
  --time-scale X        simulated ms per wall ms, e.g. 60 replays an hour in a minute (default 1)
  --capacity-tokens N   KV-cache capacity per backend in tokens (default: the profile's)
  --seed S              answer and fault-draw seed (default 0)
  --agreement A         share of prompts answered from --reference-seed (0..1, default 0): two pools with
                        different seeds and agreement A give the same answer on a share A of prompts
  --reference-seed R    the shared answer seed (default 0)
  --mean-output-tokens N  mean natural answer length (default 256)
  --faults JSON|FILE    faults for every backend ({...}) or per backend ([{...}, null, ...]);
                        see gpu-backends/simulator/faults.ts and docs/simulator.md`;

function readFaults(value: string | undefined): FaultsInput | (FaultsInput | undefined)[] | undefined {
  if (value === undefined) return undefined;
  const text = /^\s*[[{]/.test(value) ? value : readFileSync(value, 'utf8');
  const parsed = JSON.parse(text) as FaultsInput | (FaultsInput | null)[];
  return Array.isArray(parsed) ? parsed.map((f) => f ?? undefined) : parsed;
}

export async function main(argv: string[]): Promise<number> {
  const flags = parseFlags(argv, {
    backends: { type: 'string' },
    'base-port': { type: 'string' },
    profile: { type: 'string' },
    model: { type: 'string' },
    'time-scale': { type: 'string' },
    'capacity-tokens': { type: 'string' },
    seed: { type: 'string' },
    agreement: { type: 'string' },
    'reference-seed': { type: 'string' },
    'mean-output-tokens': { type: 'string' },
    faults: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const capacity = flags['capacity-tokens'] === undefined ? undefined : num('capacity-tokens', flags['capacity-tokens'], 0);
  const seed = num('seed', flags.seed, 0);
  const pool = await startSimPool({
    backends: num('backends', flags.backends, 4),
    basePort: num('base-port', flags['base-port'], 9100),
    profile: flags.profile ?? DEFAULT_PROFILE,
    model: flags.model,
    timeScale: num('time-scale', flags['time-scale'], 1),
    engine: capacity === undefined ? undefined : { capacityTokens: capacity },
    output: {
      seed,
      agreement: num('agreement', flags.agreement, 0),
      referenceSeed: num('reference-seed', flags['reference-seed'], 0),
      meanTokens: num('mean-output-tokens', flags['mean-output-tokens'], 256),
    },
    faultSeed: seed,
    faults: readFaults(flags.faults),
  });
  for (const url of pool.urls) console.log(url);
  console.log(`ready: ${pool.urls.length} simulated vLLM backends (profile ${flags.profile ?? DEFAULT_PROFILE}); Ctrl-C to stop`);

  await untilSignal();
  await pool.close();
  return 0;
}
