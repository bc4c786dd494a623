// Backend secrets (`apiKey`) are write-only: admin reads show a placeholder that says a key is set, and a write
// that sends the placeholder back keeps the stored key of that backend, so GET, edit, PUT works without ever
// showing the key.
import { failed, formatPath, type BackendConfig, type ParseResult, type Problem, type TenantConfig } from './schema.ts';

/** Stands in for a stored apiKey in admin reads; sent back in a write, it means "keep the stored key". */
export const SECRET_PLACEHOLDER = '<write-only: set>';

/** The config as admin reads show it: every apiKey replaced by the placeholder. */
export function redactSecrets(config: TenantConfig): TenantConfig {
  return mapBackends(config, (b) => (b.apiKey === undefined ? b : { ...b, apiKey: SECRET_PLACEHOLDER }));
}

/** A copy of the config with each backend replaced (records built with fromEntries: any pool name is safe). */
function mapBackends(config: TenantConfig, f: (b: BackendConfig, pool: string, i: number) => BackendConfig): TenantConfig {
  const pools = Object.fromEntries(Object.entries(config.pools).map(([name, pool]) => [name, { ...pool, backends: pool.backends.map((b, i) => f(b, name, i)) }]));
  return { ...config, pools };
}

/** Whether a write relies on stored secrets (and so must be applied to the version it was resolved against). */
export function usesPlaceholder(config: TenantConfig): boolean {
  return Object.values(config.pools).some((p) => p.backends.some((b) => b.apiKey === SECRET_PLACEHOLDER));
}

/**
 * The stored key for a backend id: the same pool's backend of that id, else the one key that backends of that
 * id carry in other pools (a backend moved between pools keeps its key).
 */
function storedKey(stored: TenantConfig, poolName: string, id: string): string | undefined {
  const pools = stored.pools;
  const same = Object.hasOwn(pools, poolName) ? pools[poolName]!.backends.find((b) => b.id === id)?.apiKey : undefined;
  if (same !== undefined) return same;
  const elsewhere = new Set<string>();
  for (const p of Object.values(pools)) for (const b of p.backends) if (b.id === id && b.apiKey !== undefined) elsewhere.add(b.apiKey);
  return elsewhere.size === 1 ? [...elsewhere][0] : undefined;
}

/** Replaces placeholders with the stored keys; a placeholder with no stored key is a problem at its path. */
export function restoreSecrets(config: TenantConfig, stored: TenantConfig | null): ParseResult<TenantConfig> {
  const problems: Problem[] = [];
  const value = mapBackends(config, (b, pool, i) => {
    if (b.apiKey !== SECRET_PLACEHOLDER) return b;
    const key = stored ? storedKey(stored, pool, b.id) : undefined;
    if (key === undefined) {
      problems.push({
        path: formatPath(['pools', pool, 'backends', i, 'apiKey']),
        message: `'${SECRET_PLACEHOLDER}' keeps a stored key, but backend '${b.id}' has none; send the key itself`,
      });
    }
    return { ...b, apiKey: key };
  });
  return problems.length ? failed(problems) : { ok: true, value };
}
