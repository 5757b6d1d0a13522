import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { decodeClientState, encodeClientState, type ClientState } from '../lib/lwm2m/storage.js';

export type { ClientState };

/** Where a Node LwM2M client keeps its bootstrapped configuration. */
export interface Storage {
  load(): Promise<ClientState | undefined>;
  save(state: ClientState): Promise<void>;
}

/** Keeps the state in memory (tests, or a device that persists elsewhere). */
export class MemoryStorage implements Storage {
  private state: string | undefined;
  async load(): Promise<ClientState | undefined> {
    return this.state === undefined ? undefined : decodeClientState(this.state);
  }
  async save(state: ClientState): Promise<void> {
    this.state = encodeClientState(state);
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
    return decodeClientState(text);
  }

  async save(state: ClientState): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.tmp-${process.pid}-${Date.now()}`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(encodeClientState(state));
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
