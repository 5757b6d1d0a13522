import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SnapshotObject } from './object-store.js';

/** What an LwM2M client persists: the bootstrapped Security and Server objects. */
export interface ClientState {
  version: 1;
  endpoint: string;
  savedAt: string;
  objects: SnapshotObject[];
}

export interface Storage {
  load(): Promise<ClientState | undefined>;
  save(state: ClientState): Promise<void>;
}

/** Keeps the state in memory (tests, or a device that persists elsewhere). */
export class MemoryStorage implements Storage {
  private state: string | undefined;
  async load(): Promise<ClientState | undefined> {
    return this.state === undefined ? undefined : (JSON.parse(this.state) as ClientState);
  }
  async save(state: ClientState): Promise<void> {
    this.state = JSON.stringify(state);
  }
}

/**
 * A JSON file written atomically: the new content goes to a temporary file in the same
 * directory, is flushed to disk (fsync), then renamed over the old one (rename is atomic on
 * POSIX file systems). A crash leaves the old or the new file, never a torn one; a leftover
 * temporary file is ignored. A file that does not parse is treated as absent.
 */
export class FileStorage implements Storage {
  constructor(readonly path: string) {}

  async load(): Promise<ClientState | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const s = JSON.parse(text) as ClientState;
      return s && s.version === 1 && Array.isArray(s.objects) ? s : undefined;
    } catch {
      return undefined;
    }
  }

  async save(state: ClientState): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp-${process.pid}-${Date.now()}`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(state, null, 1));
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, this.path);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    // make the rename itself durable
    const dir = await open(dirname(this.path), 'r').catch(() => undefined);
    if (dir) {
      await dir.sync().catch(() => undefined);
      await dir.close();
    }
  }
}
