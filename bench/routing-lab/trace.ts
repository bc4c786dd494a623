// The trace format of ../shared/traces (Mooncake FAST'25): one JSON object per line,
// {"timestamp": ms, "input_length": tokens, "output_length": tokens, "hash_ids": [int, ...]}, where hash_ids
// name 512-token blocks, chained: equal leading ids mean an equal prompt prefix.
import { z } from 'zod';

export const TRACE_BLOCK_TOKENS = 512;

export const traceRecordSchema = z.object({
  timestamp: z.number().min(0),
  input_length: z.number().int().min(1),
  output_length: z.number().int().min(0),
  hash_ids: z.array(z.number().int().min(0)).min(1),
});

export type TraceRecord = z.infer<typeof traceRecordSchema>;

/** Parses JSONL trace text; throws naming the line of the first bad record. Records are sorted by timestamp. */
export function parseTrace(text: string, limit = Infinity): TraceRecord[] {
  const out: TraceRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length && out.length < limit; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    const parsed = traceRecordSchema.safeParse(JSON.parse(line));
    if (!parsed.success) throw new Error(`trace line ${i + 1}: ${parsed.error.issues[0]?.message}`);
    const r = parsed.data;
    const blocks = r.hash_ids.length;
    if (r.input_length > blocks * TRACE_BLOCK_TOKENS) {
      throw new Error(`trace line ${i + 1}: input_length ${r.input_length} exceeds ${blocks} blocks of ${TRACE_BLOCK_TOKENS} tokens`);
    }
    out.push(r);
  }
  return out.sort((a, b) => a.timestamp - b.timestamp);
}

export function traceToJsonl(records: readonly TraceRecord[]): string {
  return records
    .map((r) => `{"timestamp": ${r.timestamp}, "input_length": ${r.input_length}, "output_length": ${r.output_length}, "hash_ids": [${r.hash_ids.join(', ')}]}`)
    .join('\n') + '\n';
}
