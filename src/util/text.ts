// Clipping text that goes to a store: a plain `slice` can cut a surrogate pair in half, and a lone surrogate makes
// ClickHouse reject the whole insert ("missing second part of surrogate pair").

const SURROGATE = /[\ud800-\udfff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `v` as a well-formed string of at most `max` UTF-16 code units; '' for anything that is not a string. */
export function clipText(v: unknown, max: number): string {
  if (typeof v !== 'string') return '';
  let s = v;
  if (s.length > max) {
    s = s.slice(0, max);
    // A pair cut in half: drop its first half rather than keep a replacement character.
    const last = s.charCodeAt(max - 1);
    if (last >= 0xd800 && last <= 0xdbff) s = s.slice(0, -1);
  }
  return SURROGATE.test(s) ? s.replace(LONE_SURROGATE, '\ufffd') : s;
}
