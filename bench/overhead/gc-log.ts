// Reading V8's --trace-gc-nvp log: how much of what a process allocated its young collections promoted.

export interface PromotedShare {
  /** Young collections (`gc=s`) in the log. */
  collections: number;
  /** Bytes allocated and promoted over the collections counted (after the first third). */
  allocated: number;
  promoted: number;
}

/** Sums `allocated=` and `promoted=` of the young collections after the first third (start-up and JIT warm-up). */
export function promotedShare(log: string): PromotedShare {
  const lines = log.split('\n').filter((l) => / gc=s /.test(l));
  let allocated = 0;
  let promoted = 0;
  for (const l of lines.slice(Math.floor(lines.length / 3))) {
    allocated += Number(/ allocated=(\d+)/.exec(l)?.[1] ?? 0);
    promoted += Number(/ promoted=(\d+)/.exec(l)?.[1] ?? 0);
  }
  return { collections: lines.length, allocated, promoted };
}
