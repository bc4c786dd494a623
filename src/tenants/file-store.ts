// Node: tenants and key hashes in a JSON file, rewritten atomically (temp file + rename) on every admin write.
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseSnapshot } from './snapshot.ts';
import { MemoryTenantStore } from './store.ts';

export class FileTenantStore extends MemoryTenantStore {
  constructor(private path: string) {
    super();
    if (existsSync(path)) this.load(parseSnapshot(JSON.parse(readFileSync(path, 'utf8')), path));
  }

  protected override async persist(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.snapshot(), null, 2));
    renameSync(tmp, this.path);
  }
}
