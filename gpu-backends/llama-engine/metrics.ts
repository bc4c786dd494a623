// The engine's counters and their Prometheus text under llama-server's metric names (tools/server: `llamacpp:`
// prefix, `# HELP` / `# TYPE` lines, counters first). `llamacpp:prompt_tokens_total` counts prompt tokens the
// engine actually evaluated: tokens served from a slot's cached prefix are not in it, as in llama-server.

export interface SlotsGauge {
  processing: number;
  deferred: number;
  /** Tokens held in all slots' KV state, and the capacity of all slots together. */
  kvTokens: number;
  kvCapacity: number;
}

export class EngineMetrics {
  promptTokens = 0;
  promptMs = 0;
  predictedTokens = 0;
  predictedMs = 0;
  /** High watermark of tokens in one slot (llama-server's n_tokens_max). */
  maxSlotTokens = 0;
  readonly startedAtUnix = Math.floor(Date.now() / 1000);

  recordPrompt(tokens: number, ms: number): void {
    this.promptTokens += tokens;
    this.promptMs += ms;
  }

  recordPredicted(tokens: number, ms: number): void {
    this.predictedTokens += tokens;
    this.predictedMs += ms;
  }

  noteSlotTokens(n: number): void {
    if (n > this.maxSlotTokens) this.maxSlotTokens = n;
  }

  render(g: SlotsGauge): string {
    const perSecond = (tokens: number, ms: number) => (ms > 0 ? (1000 * tokens) / ms : 0);
    const rows: [name: string, type: 'counter' | 'gauge', help: string, value: number][] = [
      ['prompt_tokens_total', 'counter', 'Number of prompt tokens processed.', this.promptTokens],
      ['prompt_seconds_total', 'counter', 'Prompt process time', Math.round(this.promptMs) / 1000],
      ['tokens_predicted_total', 'counter', 'Number of generation tokens processed.', this.predictedTokens],
      ['tokens_predicted_seconds_total', 'counter', 'Predict process time', Math.round(this.predictedMs) / 1000],
      ['n_tokens_max', 'counter', 'Largest observed n_tokens.', this.maxSlotTokens],
      ['prompt_tokens_seconds', 'gauge', 'Average prompt throughput in tokens/s.', perSecond(this.promptTokens, this.promptMs)],
      ['predicted_tokens_seconds', 'gauge', 'Average generation throughput in tokens/s.', perSecond(this.predictedTokens, this.predictedMs)],
      ['kv_cache_usage_ratio', 'gauge', 'KV-cache usage. 1 means 100 percent usage.', g.kvCapacity > 0 ? g.kvTokens / g.kvCapacity : 0],
      ['kv_cache_tokens', 'gauge', 'KV-cache tokens.', g.kvTokens],
      ['requests_processing', 'gauge', 'Number of requests processing.', g.processing],
      ['requests_deferred', 'gauge', 'Number of requests deferred.', g.deferred],
    ];
    return rows.map(([name, type, help, value]) => `# HELP llamacpp:${name} ${help}\n# TYPE llamacpp:${name} ${type}\nllamacpp:${name} ${formatValue(value)}\n`).join('');
  }
}

/** Numbers as C++ streams print a double (6 significant digits), which is what llama-server's text carries. */
function formatValue(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
}
