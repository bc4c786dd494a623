// /admin/*: tenant configs and API keys, behind the admin token. Configs are validated here, on write, with
// errors that point at the path and egress rules for this deployment; each write bumps the version; If-Match
// makes concurrent edits safe. Backend secrets are write-only (src/config/secrets.ts).
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { ifMatchHeaderSchema, keyPathSchema, keyRequestSchema, tenantPathSchema } from '../src/config/admin-api.ts';
import { hostPortOf, type EgressContext } from '../src/config/egress.ts';
import { parseTenantConfig, type Problem, type TenantConfig } from '../src/config/schema.ts';
import { redactSecrets, restoreSecrets, usesPlaceholder } from '../src/config/secrets.ts';
import { errorResponse, errors, HttpError } from '../src/api/errors.ts';
import type { Platform } from '../src/runtimes/platform.ts';
import { generateApiKey, sha256Hex, timingSafeEqual } from '../src/tenants/keys.ts';
import { requireAdmin } from './admin-auth.ts';
import { parseBody, parseHeaders, parseParams, readJson } from './body.ts';
import { VersionConflict, type TenantRecord } from '../src/tenants/store.ts';
import { cacheReportRoutes } from './cache-report.ts';
import { driftRoutes } from './drift.ts';
import { experimentRoutes } from './experiments.ts';

function etag(version: number): string {
  return `"${version}"`;
}

/** If-Match as a version; `*` means "must exist" and is treated as unconditional here. */
function ifMatchOf(c: Context): number | undefined {
  return parseHeaders(c, ifMatchHeaderSchema)['if-match'];
}

/** What admin reads show of a tenant: backend secrets replaced by a placeholder. */
function tenantView(r: TenantRecord) {
  return { tenantId: r.tenantId, version: r.version, updatedAt: r.updatedAt, config: redactSecrets(r.config) };
}

/** 400 with every problem (one line each, pointing at its path); param names the first. */
function invalidConfig(f: { problems: string[]; issues: Problem[] }): Response {
  const body = {
    error: { message: `Invalid tenant config: ${f.problems.join('; ')}`, type: 'invalid_request_error', param: f.issues[0]?.path || null, code: 'invalid_config', problems: f.problems },
  };
  return new Response(JSON.stringify(body), { status: 400, headers: { 'content-type': 'application/json' } });
}

/** The deployment's egress context, plus the address this request reached the router at (never a backend). */
function egressOf(p: Platform, c: Context): EgressContext {
  const base = p.egress();
  return { ...base, self: [...base.self, hostPortOf(c.req.url)] };
}

/** Retries of a write whose secrets were resolved against a version that changed meanwhile. */
const SECRET_RESOLVE_ATTEMPTS = 3;

function conflict(e: VersionConflict): HttpError {
  return new HttpError(412, 'conflict_error', `Precondition failed: ${e.message}. Re-read the tenant and retry with its current ETag.`, 'version_conflict');
}

export function adminRoutes(p: Platform): Hono {
  const app = new Hono();

  app.use('*', requireAdmin(p));

  // Every route under a tenant checks its id first (routes mounted below included).
  const tenantIdOf = (c: Context) => parseParams(c, tenantPathSchema).id;
  const checkTenantId: MiddlewareHandler = async (c, next) => {
    tenantIdOf(c);
    await next();
  };
  app.use('/tenants/:id', checkTenantId);
  app.use('/tenants/:id/*', checkTenantId);

  app.onError((err) => errorResponse(err));

  app.get('/tenants', async (c) => c.json({ tenants: await p.directory.store.listTenants() }));

  const store = p.directory.store;
  const readLatest = (id: string) => (store.getTenantLatest ? store.getTenantLatest(id) : store.getTenant(id));

  app.get('/tenants/:id', async (c) => {
    const id = tenantIdOf(c);
    const rec = await readLatest(id);
    if (!rec) throw errors.notFound(`Tenant '${id}' does not exist.`);
    return c.json(tenantView(rec), 200, { etag: etag(rec.version) });
  });

  app.put('/tenants/:id', async (c) => {
    const id = tenantIdOf(c);
    const parsed = parseTenantConfig(await readJson(c), egressOf(p, c));
    if (!parsed.ok) return invalidConfig(parsed);
    const ifMatch = ifMatchOf(c);
    for (let attempt = 1; ; attempt++) {
      const before = await readLatest(id);
      let config: TenantConfig = parsed.value;
      let condition = ifMatch;
      if (usesPlaceholder(config)) {
        const restored = restoreSecrets(config, before?.config ?? null);
        if (!restored.ok) return invalidConfig(restored);
        config = restored.value;
        // The stored keys were read at this version: write only if it is still current.
        condition ??= before?.version ?? 0;
      }
      try {
        const rec = await p.directory.store.putTenant(id, config, condition);
        p.directory.invalidate(id);
        return c.json(tenantView(rec), before ? 200 : 201, { etag: etag(rec.version) });
      } catch (e) {
        if (!(e instanceof VersionConflict)) throw e;
        if (ifMatch === undefined && attempt < SECRET_RESOLVE_ATTEMPTS) continue;
        throw conflict(e);
      }
    }
  });

  app.delete('/tenants/:id', async (c) => {
    const id = tenantIdOf(c);
    const ifMatch = ifMatchOf(c);
    try {
      const ok = await p.directory.store.deleteTenant(id, ifMatch);
      p.directory.invalidate(id);
      if (!ok) throw errors.notFound(`Tenant '${id}' does not exist.`);
      return c.body(null, 204);
    } catch (e) {
      if (e instanceof VersionConflict) throw conflict(e);
      throw e;
    }
  });

  app.post('/tenants/:id/keys', async (c) => {
    const id = tenantIdOf(c);
    if (!(await readLatest(id))) throw errors.notFound(`Tenant '${id}' does not exist; create its config first.`);
    const body = await parseBody(c, keyRequestSchema, { empty: {} });
    const name = body.name;
    const imported = body.key;
    const generated = generateApiKey();
    const plain = imported ?? generated.plain;
    const keyId = generated.keyId;
    const hash = await sha256Hex(plain);
    // The admin token must never double as a tenant key (it would then call /v1 as that tenant).
    if (p.adminTokenHash && timingSafeEqual(hash, p.adminTokenHash)) throw errors.badField('key', 'this is the admin token; import a different key');
    const existing = await p.directory.store.keyByHash(hash);
    if (existing && existing.tenantId !== id) throw new HttpError(409, 'conflict_error', 'This key is already in use.', 'key_in_use');
    if (existing) return c.json({ keyId: existing.keyId, key: plain, tenantId: id, name: existing.name ?? null, createdAt: existing.createdAt }, 200);
    const createdAt = new Date().toISOString();
    await p.directory.store.putKey({ keyId, tenantId: id, hash, name, createdAt });
    // The plain key is returned exactly once; only its hash is stored.
    return c.json({ keyId, key: plain, tenantId: id, name: name ?? null, createdAt }, 201);
  });

  app.get('/tenants/:id/keys', async (c) => {
    const keys = await p.directory.store.listKeys(tenantIdOf(c));
    return c.json({ keys: keys.map((k) => ({ keyId: k.keyId, name: k.name ?? null, createdAt: k.createdAt })) });
  });

  app.delete('/tenants/:id/keys/:keyId', async (c) => {
    const { id, keyId } = parseParams(c, keyPathSchema);
    const ok = await p.directory.store.deleteKey(id, keyId);
    p.directory.invalidate(id);
    if (!ok) throw errors.notFound(`Key '${keyId}' does not exist for tenant '${id}'.`);
    return c.body(null, 204);
  });

  app.get('/backends', (c) => {
    const out: Record<string, unknown> = {};
    p.states.expire(p.now()); // what it shows counts only attempts that are still alive
    for (const [url, s] of p.states.entries()) {
      const br = s.breaker;
      out[url] = {
        inflight: s.inflight, breaker: br.state, failures: br.failures, ejections: br.ejections, healthy: br.healthy,
        ejectedForMs: br.state === 'open' ? Math.max(0, Math.round(br.openedUntil - p.now())) : 0, engine: s.engine, engineObservedAt: s.engineObservedAt || null,
        engineReport: s.engineReport,
      };
    }
    return c.json({ backends: out });
  });

  // Drift and the reports, where the runtime supplies their stores.
  if (p.driftStore) app.route('/tenants/:id/drift', driftRoutes({ store: p.driftStore }));
  const reports = p.reportQueryable;
  if (reports) {
    app.route('/tenants/:id/experiments', experimentRoutes({ queryable: () => reports() }));
    app.route('/cache-report', cacheReportRoutes({ queryable: () => reports() }));
  }
  return app;
}
