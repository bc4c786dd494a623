// A CPU profile of a Worker on workerd, through its DevTools inspector, while some load runs (e.g. the overhead
// benchmark started with KVB_WORKERD_FLAGS=--inspector-addr=127.0.0.1:P and only one workerd target). The
// .cpuprofile it writes is what `node --cpu-prof` writes: summarise it with profile-top.ts.
//
//   KVB_WORKERD_FLAGS=--inspector-addr=127.0.0.1:9230 npx tsx bench/overhead/run.ts --targets kvroute-workerd --runs 1 --duration 30 &
//   npx tsx bench/overhead/workerd-profile.ts --port 9230 --after 20 --seconds 15 --out /tmp/kvroute-workerd.cpuprofile
//   npx tsx bench/overhead/profile-top.ts /tmp/kvroute-workerd.cpuprofile --filter worker.js
import fs from 'node:fs';
import { num, parseFlags } from '../../src/util/args.ts';
import { targets, withSession } from '../soak/heap.ts';

const f = parseFlags(process.argv.slice(2), { port: { type: 'string' }, after: { type: 'string' }, seconds: { type: 'string' }, out: { type: 'string' }, target: { type: 'string' } });
if (!f.port || !f.out) throw new Error('usage: workerd-profile.ts --port P --out FILE [--after S] [--seconds S] [--target ID]');
const port = num('port', f.port, 0);
const wait = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

// The inspector answers once workerd is up; the load usually starts a little later (--after).
for (let tries = 0; ; tries++) {
  const up = await targets(port).then(() => true, () => false);
  if (up) break;
  if (tries > 600) throw new Error(`no inspector on 127.0.0.1:${port}`);
  await wait(0.1);
}
await wait(num('after', f.after, 0));
const list = await targets(port);
const target = f.target ?? list[0]?.id;
if (!target) throw new Error(`no inspector target on port ${port}`);
const profile = await withSession(port, target, async (s) => {
  await s.send('Profiler.enable');
  await s.send('Profiler.setSamplingInterval', { interval: 500 }); // µs
  await s.send('Profiler.start');
  await wait(num('seconds', f.seconds, 15));
  return (await s.send<{ profile: unknown }>('Profiler.stop')).profile;
});
fs.writeFileSync(f.out, JSON.stringify(profile));
console.error(`wrote ${f.out} (target ${target} of ${list.map((t) => t.id).join(', ')})`);
