// What a deployment must have before it serves: a real admin token, unless it is local development. One explicit
// signal marks local development, KVROUTE_LOCAL_DEV=1: `kvroute start`, `kvroute start:node` and the test
// configuration set it, nothing else does. Both runtimes read it from their own environment (Workers: a var
// binding; Node: the process environment) and run the same checks.

/** The variable whose value `1` marks local development. */
export const LOCAL_DEV_VAR = 'KVROUTE_LOCAL_DEV';

export function isLocalDev(vars: { readonly KVROUTE_LOCAL_DEV?: string }): boolean {
  const v = vars.KVROUTE_LOCAL_DEV;
  return v === '1' || v === 'true';
}

export const MIN_ADMIN_TOKEN_CHARS = 32;

/** Tokens that appear in kvroute's own docs, scripts and tests, and the usual placeholders (all short). */
const KNOWN_WEAK_TOKENS = new Set(['dev-admin-token', 'test-admin-token-123', 'bench-admin-token', 'changeme', 'change-me', 'admin', 'secret', 'password', 'token']);

const HOW =
  `Set KVROUTE_ADMIN_TOKEN to at least ${MIN_ADMIN_TOKEN_CHARS} random characters, e.g. the output of \`openssl rand -hex 32\` ` +
  '(Workers: `wrangler secret put KVROUTE_ADMIN_TOKEN`; Node: the environment variable or "adminToken" in the --config file). ' +
  `For local development only, set ${LOCAL_DEV_VAR}=1 instead.`;

export interface AdminTokenSetup {
  token: string | undefined;
  localDev: boolean;
  /** Tenants come from a read-only static config: without a token the admin API is simply closed. */
  readOnly: boolean;
}

/** Why this deployment must not serve, or null when its admin token is acceptable. */
export function adminTokenProblem(s: AdminTokenSetup): string | null {
  if (s.localDev) return null;
  if (s.token === undefined || s.token === '') return s.readOnly ? null : `No admin token is set. ${HOW}`;
  if (s.token.length < MIN_ADMIN_TOKEN_CHARS) {
    return KNOWN_WEAK_TOKENS.has(s.token.toLowerCase())
      ? `The admin token is a well-known development value. ${HOW}`
      : `The admin token is shorter than ${MIN_ADMIN_TOKEN_CHARS} characters. ${HOW}`;
  }
  if (distinctChars(s.token, 8) < 8) return `The admin token repeats too few characters to be random. ${HOW}`;
  return null;
}

/** Distinct characters of `s`, counted up to `enough` (the Worker runs this check on every request). */
function distinctChars(s: string, enough: number): number {
  let seen = '';
  for (let i = 0; i < s.length && seen.length < enough; i++) if (!seen.includes(s[i]!)) seen += s[i];
  return seen.length;
}
