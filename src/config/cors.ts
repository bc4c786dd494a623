// A tenant's CORS settings: which browser origins may call the router with this tenant's keys.
import { z } from 'zod';

/** `*`, or an origin exactly as browsers send it: scheme, host and optional port, no path or trailing slash. */
const origin = z.string().refine(
  (o) => {
    if (o === '*') return true;
    try {
      return new URL(o).origin === o;
    } catch {
      return false;
    }
  },
  { message: 'use an origin such as https://app.example.com (lower-case scheme and host, optional port, no path or trailing slash), or *' },
);

export const corsConfigSchema = z.strictObject({
  allowOrigins: z.array(origin).max(100).default([]).describe(
    "origins whose pages may call /v1/* with this tenant's keys; `*` allows any. Empty: browsers are refused",
  ),
  maxAgeSeconds: z.number().int().min(0).max(86_400).default(600).describe(
    'how long a browser may cache a preflight answer (Access-Control-Max-Age)',
  ),
});

export type CorsConfig = z.infer<typeof corsConfigSchema>;
