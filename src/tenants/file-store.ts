// Node: tenants and key hashes in one JSON file (`kvroute serve --state FILE`), which several router processes
// may share. A write is read-modify-write under an exclusive lock (proper-lockfile: a lock directory beside the
// file, kept fresh while held and taken over when its holder died), on the file's current content, replaced
// atomically (temp file, fsync, rename): no process rewrites the file from a stale copy, so a key revoked by one
// replica stays revoked. Reads come from memory, reloaded when the file changed (inode, size, mtime): checked on
// every admin read and at most once per `recheckMs` on the request path.
import { closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import type { TenantConfig } from '../config/schema.ts';
import { HttpError } from '../api/errors.ts';
import { parseSnapshot } from './snapshot.ts';
import { MemoryTenantStore, type ApiKeyRecord, type TenantRecord, type TenantStore } from './store.ts';

export interface FileTenantStoreOptions {
  /** How stale the request path's view may be before it looks at the file again (ms). */
  recheckMs?: number;
  /** A lock older than this whose holder stopped refreshing it is taken over (ms, at least 2000). */
  staleLockMs?: number;
  now?: () => number;
}

const stampOf = (st: Stats | null) => (st ? `${st.ino}:${st.size}:${st.mtimeMs}` : 'absent');

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

export class FileTenantStore implements TenantStore {
  private mem = new MemoryTenantStore();
  /** Identity of the file content `mem` holds. */
  private stamp = 'unread';
  private checkedAt = -Infinity;
  /** Serialises this process's writes (the lock file serialises them across processes). */
  private writes: Promise<unknown> = Promise.resolve();
  private readonly recheckMs: number;
  private readonly staleLockMs: number;
  private readonly now: () => number;

  constructor(
    private path: string,
    opts: FileTenantStoreOptions = {},
  ) {
    this.recheckMs = opts.recheckMs ?? 1_000;
    this.staleLockMs = Math.max(2_000, opts.staleLockMs ?? 10_000);
    this.now = opts.now ?? Date.now;
    mkdirSync(dirname(path), { recursive: true });
    this.refresh(true, true);
  }

  /** Reloads when the file changed since it was read. An unreadable file fails at start-up; later the last good copy stays. */
  private refresh(force: boolean, strict = false): void {
    const t = this.now();
    if (!force && t - this.checkedAt < this.recheckMs) return;
    this.checkedAt = t;
    if (stampOf(statOrNull(this.path)) === this.stamp) return;
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      this.mem.load({ tenants: {}, keys: [] });
      this.stamp = 'absent';
      return;
    }
    try {
      const st = fstatSync(fd);
      const snap = parseSnapshot(JSON.parse(readFileSync(fd, 'utf8')), this.path);
      this.mem.load(snap);
      this.stamp = stampOf(st);
    } catch (e) {
      if (strict) throw e;
      console.error(`kvroute: keeping the last good copy of ${this.path}: ${(e as Error).message}`);
    } finally {
      closeSync(fd);
    }
  }

  /** Atomically replaces the file with `mem`'s content; call only under the lock. */
  private persist(): void {
    const tmp = `${this.path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    const fd = openSync(tmp, 'wx');
    try {
      writeFileSync(fd, JSON.stringify(this.mem.snapshot(), null, 2));
      fsyncSync(fd);
    } catch (e) {
      closeSync(fd);
      unlinkSync(tmp);
      throw e;
    }
    closeSync(fd);
    renameSync(tmp, this.path);
    this.stamp = stampOf(statOrNull(this.path));
  }

  private async lock(): Promise<() => Promise<void>> {
    try {
      return await lockfile.lock(this.path, {
        realpath: false,
        stale: this.staleLockMs,
        // Wait past the stale threshold, so that a lock left by a crashed process is taken over, not reported.
        retries: { retries: Math.ceil(this.staleLockMs / 100) + 20, minTimeout: 5, maxTimeout: 100, factor: 1.5 },
        onCompromised: (err) => console.error(`kvroute: lost the lock on ${this.path}: ${err.message}`),
      });
    } catch (e) {
      throw new HttpError(503, 'server_error', `The tenant state file ${this.path} is locked by another process (${(e as Error).message}). Retry shortly.`, 'state_locked');
    }
  }

  /** Read-modify-write: under the lock, on the file's current content; written back only if `op` succeeds. */
  private write<T>(op: (m: MemoryTenantStore) => Promise<T>): Promise<T> {
    const run = async () => {
      const release = await this.lock();
      try {
        this.refresh(true, true);
        const result = await op(this.mem);
        this.persist();
        return result;
      } catch (e) {
        this.stamp = 'unknown'; // memory may hold a change the file does not: re-read before the next use
        throw e;
      } finally {
        await release().catch(() => {});
      }
    };
    const result = this.writes.then(run, run);
    this.writes = result.catch(() => {});
    return result;
  }

  async getTenant(id: string): Promise<TenantRecord | null> {
    this.refresh(false);
    return this.mem.getTenant(id);
  }
  async getTenantLatest(id: string): Promise<TenantRecord | null> {
    this.refresh(true);
    return this.mem.getTenant(id);
  }
  async listTenants(): Promise<string[]> {
    this.refresh(true);
    return this.mem.listTenants();
  }
  async keyByHash(hash: string): Promise<ApiKeyRecord | null> {
    this.refresh(false);
    return this.mem.keyByHash(hash);
  }
  async listKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    this.refresh(true);
    return this.mem.listKeys(tenantId);
  }

  putTenant(id: string, config: TenantConfig, ifMatch?: number): Promise<TenantRecord> {
    return this.write((m) => m.putTenant(id, config, ifMatch));
  }
  deleteTenant(id: string, ifMatch?: number): Promise<boolean> {
    return this.write((m) => m.deleteTenant(id, ifMatch));
  }
  putKey(record: ApiKeyRecord): Promise<void> {
    return this.write((m) => m.putKey(record));
  }
  deleteKey(tenantId: string, keyId: string): Promise<boolean> {
    return this.write((m) => m.deleteKey(tenantId, keyId));
  }
}
