import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fromHex, toHex } from '../lib/bytes/util.js';
import type { ResumptionStorage } from '../lib/lwm2m/client-sessions.js';
import { decodeClientState, encodeClientState, type ClientState } from '../lib/lwm2m/storage.js';

export type { ClientState, ResumptionStorage };

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
    await writeAtomically(this.path, encodeClientState(state));
  }
}

/**
 * Writes `text` to `path` atomically: to a temporary file in the same directory (mode 0600),
 * flushed to disk (fsync), then renamed over the old one (rename is atomic on POSIX file
 * systems), and the directory synced so the rename itself is durable.
 */
async function writeAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  const dir = await open(dirname(path), 'r').catch(() => undefined);
  if (dir) {
    await dir.sync().catch(() => undefined);
    await dir.close();
  }
}

/** The LwM2M client's resumption blobs in memory (tests; or a device that writes them elsewhere). */
export class MemoryResumptionStorage implements ResumptionStorage {
  readonly blobs = new Map<string, Uint8Array>();
  async load(serverUri: string): Promise<Uint8Array | undefined> {
    return this.blobs.get(serverUri)?.slice();
  }
  async save(serverUri: string, blob: Uint8Array | undefined): Promise<void> {
    if (blob) this.blobs.set(serverUri, blob.slice());
    else this.blobs.delete(serverUri);
  }
}

/**
 * The LwM2M client's resumption blobs in a JSON file (`{ "version": 1, "sessions": { uri: hex } }`),
 * written atomically like FileStorage, one write at a time. A file that does not parse is treated
 * as empty. **The blobs hold master secrets**: the file is created with mode 0600; keep it where
 * the client's keys are kept.
 */
export class FileResumptionStorage implements ResumptionStorage {
  private sessions: Promise<Map<string, string>> | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  async load(serverUri: string): Promise<Uint8Array | undefined> {
    const hex = (await this.read()).get(serverUri);
    return hex === undefined ? undefined : fromHex(hex);
  }

  save(serverUri: string, blob: Uint8Array | undefined): Promise<void> {
    const next = this.writing.then(async () => {
      const sessions = await this.read();
      if (blob) sessions.set(serverUri, toHex(blob));
      else if (!sessions.delete(serverUri)) return;
      await writeAtomically(this.path, JSON.stringify({ version: 1, sessions: Object.fromEntries(sessions) }, null, 1));
    });
    this.writing = next.catch(() => undefined);
    return next;
  }

  private read(): Promise<Map<string, string>> {
    return (this.sessions ??= readFile(this.path, 'utf8').then(
      (text) => {
        try {
          const j = JSON.parse(text) as { version?: unknown; sessions?: unknown };
          if (j.version !== 1 || typeof j.sessions !== 'object' || j.sessions === null) return new Map();
          return new Map(Object.entries(j.sessions).filter((e): e is [string, string] => typeof e[1] === 'string' && /^([0-9a-f]{2})+$/.test(e[1])));
        } catch {
          return new Map();
        }
      },
      () => new Map(),
    ));
  }
}
