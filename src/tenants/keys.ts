// API keys: shown once in plain text, stored only as SHA-256 hex digests. Web Crypto works on Node 20 and workerd.

const encoder = new TextEncoder();

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', encoder.encode(text));
  const bytes = new Uint8Array(digest);
  let hex = '';
  for (let i = 0; i < bytes.length; i++) hex += bytes[i]!.toString(16).padStart(2, '0');
  return hex;
}

function randomToken(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  let s = '';
  for (let i = 0; i < b.length; i++) s += b[i]!.toString(16).padStart(2, '0');
  return s;
}

/** A new key: `kvr-<keyId>-<secret>`. The key id is public (listing, revoking); the whole key is the secret. */
export function generateApiKey(): { keyId: string; plain: string } {
  const keyId = randomToken(4);
  return { keyId, plain: `kvr-${keyId}-${randomToken(24)}` };
}

/** Constant-time string comparison (for the admin token). */
export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
