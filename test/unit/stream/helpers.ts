// The reading of a stream's end that the stream itself defines: every event in order, the last value of each fact
// winning. usageAndFinish reads from the end instead; the property test holds it to this, and
// bench/stream-tail-micro.ts measures the two side by side.
import { completionFacts, type ReceiptReader } from '../../../src/stream/completion-facts.ts';

export function lastValuesWin(text: string, receipts?: ReceiptReader): { usage?: unknown; finishReason?: string; receipt?: unknown } {
  const out: { usage?: unknown; finishReason?: string; receipt?: unknown } = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('data: {')) continue;
    let msg: unknown;
    try {
      msg = JSON.parse(line.slice(6));
    } catch {
      continue; // a tail may start mid-event
    }
    const f = completionFacts(msg, receipts);
    if (f.usage) out.usage = f.usage;
    if (f.finishReason) out.finishReason = f.finishReason;
    if (f.receipt) out.receipt = f.receipt;
  }
  return out;
}
