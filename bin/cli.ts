export {};

// `npx kvroute <command>`: one entry, each command in its own module under bin/commands/, loaded on demand so that
// `kvroute psi` does not pay for the simulator or the router.
const commands: Record<string, { describe: string; load: () => Promise<{ main(argv: string[]): Promise<number | void> }> }> = {
  start: { describe: 'router in the local Workers runtime + simulated pool + demo tenant', load: () => import('./commands/start.ts') },
  'start:node': { describe: 'the same on the Node runtime', load: () => import('./commands/start-node.ts') },
  serve: { describe: 'router on Node only (no simulator), from a config file', load: () => import('./commands/serve.ts') },
  sim: { describe: 'start a simulated vLLM backend pool', load: () => import('./commands/sim.ts') },
  engine: { describe: 'a real llama.cpp engine on the CPU (OpenAI-compatible, llama-server metrics)', load: () => import('./commands/engine.ts') },
  replay: { describe: 'replay a trace through a routing policy (routing lab)', load: () => import('./commands/replay.ts') },
  psi: { describe: 'compute the Population Stability Index of two distributions', load: () => import('./commands/psi.ts') },
  'local-worker': { describe: 'the Worker alone in the local Workers runtime (used by start and tests)', load: () => import('./commands/local-worker-main.ts') },
  migrate: { describe: 'create the analytics tables in ClickHouse', load: () => import('./commands/migrate.ts') },
};

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.describe}`);
  return `usage: kvroute <command> [options]\n\ncommands:\n${rows.join('\n')}\n\nkvroute <command> --help for its options`;
}

const [name, ...rest] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h' || name === 'help') {
  console.log(usage());
  process.exit(name ? 0 : 2);
}
const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
if (!command) {
  console.error(`kvroute: unknown command '${name}'\n\n${usage()}`);
  process.exit(2);
}
try {
  const mod = await command.load();
  const code = await mod.main(rest);
  if (typeof code === 'number') process.exitCode = code;
} catch (err) {
  console.error(`kvroute ${name}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
