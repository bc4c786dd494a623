// Random ids that sort by the time they were made: version 7 UUIDs (RFC 9562), the millisecond in the first 48
// bits, then 74 random bits (from crypto.randomUUID, which exists on Workers and Node 20). A store that indexes
// such ids (the analytics tables key events by event_id and index them by request id) adds each new one at the
// end of its index instead of at a random place in it: on SQLite, random-keyed inserts read and rewrite
// scattered index pages and cost about twice the CPU per event.

/** The last millisecond an id was made for, and the id's first 15 characters for it. */
let lastMs = -1;
let prefix = '';

/** A version 7 UUID for the millisecond `now`. */
export function timeOrderedId(now = Date.now()): string {
  if (now !== lastMs) {
    const ms = now.toString(16).padStart(12, '0');
    prefix = `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7`;
    lastMs = now;
  }
  // randomUUID: xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx; its last 20 characters keep their random bits and variant.
  return prefix + crypto.randomUUID().slice(15);
}
