// A dead letter keeps the refused event as JSON text (`raw`, src/analytics/dead-letter.ts); tests read its fields
// back to check that the event was kept as it was refused, bad values included.

/** The fields of the event a dead letter kept. */
export function keptEvent(raw: string): Record<string, unknown> {
  return JSON.parse(raw) as Record<string, unknown>;
}
