import type { IncomingRequest } from '../coap/api-types.js';
import { ContentFormat } from '../coap/content-format.js';
import { Code } from '../coap/message.js';
import { coapUriAuthority, coapUriTarget } from '../coap/uri.js';
import { sha256 } from '../crypto/sha256.js';
import { decodeContent } from './codec/index.js';
import { answerError } from './client-requests.js';
import type { AgentEvent, CoapAnswer } from './coap-agent.js';
import { Lwm2mError } from './errors.js';
import { UpdateResult } from './firmware-download.js';
import { PackagePull, type PullContext, type PullOutcome } from './firmware-pull.js';
import type { ObjectStore } from './object-store.js';
import { FIRMWARE_UPDATE } from './objects.js';
import { parsePath } from './types.js';

/** What the application gives the client for firmware updates (object 5). */
export interface FirmwareOptions {
  /**
   * Installs a verified image after the server executed Update (/5/0/2): true when installed,
   * false when it failed, undefined when it runs on (then call Lwm2mClientCore.firmwareInstalled).
   */
  install(image: Uint8Array, info: { sha256: Uint8Array; uri: string | undefined }): boolean | undefined;
  /** The integrity check of a complete image (e.g. its SHA-256 against the expected one); default: accept. */
  verify?(image: Uint8Array, sha256: Uint8Array): boolean;
  /** Largest package accepted, bytes (default 1 MiB): more is Update Result 2. */
  maxSize?: number;
  /** Block size of Package URI downloads (16..1024, default 1024). */
  blockSize?: number;
  /** Failed attempts in a row (a block unanswered, the session lost) before the download stops (default 5). */
  maxRetries?: number;
  /** Wait before the next attempt after a failed one, ms (default 5 s). */
  retryDelayMs?: number;
}

/** What the firmware update needs from the client core. */
export interface FirmwareContext extends PullContext {
  store: ObjectStore;
}

/** State (/5/0/3) of the Firmware Update object. */
export const FirmwareState = { Idle: 0, Downloading: 1, Downloaded: 2, Updating: 3 } as const;

type Phase =
  | { readonly kind: 'idle' }
  /** A Package URI download (`pull`), or a pushed package being checked. */
  | { readonly kind: 'downloading'; readonly pull: PackagePull | undefined }
  | { readonly kind: 'downloaded'; readonly image: Uint8Array; readonly sha256: Uint8Array; readonly uri: string | undefined }
  | { readonly kind: 'updating'; readonly image: Uint8Array; readonly sha256: Uint8Array; readonly uri: string | undefined; started: boolean };

const eq = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The Firmware Update object (OMA LwM2M object 5) on the client: Package push (a Write of
 * /5/0/0, Block1 reassembled by the CoAP layer), Package URI pull (a Write of /5/0/1 starts a
 * Block2 download on a channel of its own, coap:// or coaps://, resumed at the block it stopped
 * at after a timeout or a lost session), the state machine Idle -> Downloading -> Downloaded ->
 * Updating -> Idle with the Update Result codes, a SHA-256 integrity check (and the
 * application's verify) before Downloaded and again before Updating, and the application's
 * install hook after Update (/5/0/2). An empty Package or Package URI, or Cancel (/5/0/10),
 * returns to Idle. Malformed writes are refused (4.00) and change nothing.
 */
export class FirmwareUpdate {
  private phase: Phase = { kind: 'idle' };

  constructor(
    private readonly cx: FirmwareContext,
    private readonly opts: FirmwareOptions,
  ) {
    const s = cx.store;
    s.set([5, 0, 1], '');
    s.set([5, 0, 3], FirmwareState.Idle);
    s.set([5, 0, 5], UpdateResult.Initial);
    s.set([5, 0, 8], [0, 1]); // CoAP, CoAPS
    s.set([5, 0, 9], 2); // pull and push
  }

  get state(): Phase['kind'] {
    return this.phase.kind;
  }

  /** Answers a server's request on /5 when it is a firmware operation; undefined otherwise. */
  serve(now: number, req: IncomingRequest): CoapAnswer | undefined {
    let path;
    try {
      path = parsePath(req.path);
    } catch {
      return undefined;
    }
    if (path[0] !== 5 || path[1] !== 0 || path.length > 3) return undefined;
    try {
      if (req.method === 'POST' && path.length === 3) {
        if (path[2] === 2) return this.executeUpdate();
        if (path[2] === 10) return this.cancel(now);
        return undefined;
      }
      if ((req.method === 'PUT' || req.method === 'POST') && req.query.length === 0 && (path.length === 2 || path[2] === 0 || path[2] === 1)) return this.write(now, path, req);
      return undefined;
    } catch (e) {
      return answerError(e);
    }
  }

  // --- writes and executes -----------------------------------------------------------------

  private write(now: number, path: readonly number[], req: IncomingRequest): CoapAnswer {
    // a Package write of raw bytes may come without Content-Format
    const cf = req.contentFormat ?? (path[2] === 0 ? ContentFormat.OctetStream : undefined);
    const records = path[2] === 0 && req.payload.length === 0 ? [{ path: [5, 0, 0], value: new Uint8Array(0) }] : decodeContent(cf, req.payload, path, this.cx.store.types);
    let pkg: Uint8Array | undefined;
    let uri: string | undefined;
    for (const r of records) {
      if (r.path[2] === 0 && r.value instanceof Uint8Array) pkg = r.value;
      else if (r.path[2] === 1 && typeof r.value === 'string') uri = r.value;
      else throw Lwm2mError.notAllowed(`/${r.path.join('/')} is not writable`);
    }
    if (pkg !== undefined && uri !== undefined) throw Lwm2mError.badRequest('a Package and a Package URI in one Write');
    if (pkg?.length === 0 || uri === '') {
      this.reset(now, UpdateResult.Initial, 'an empty package: back to Idle');
      return { code: Code.Changed };
    }
    if (pkg === undefined && uri === undefined) throw Lwm2mError.badRequest('no Package or Package URI in the Write');
    if (this.phase.kind !== 'idle') throw Lwm2mError.badRequest(`a firmware update is under way (state ${this.phase.kind}): write an empty Package URI to cancel it`);
    if (uri !== undefined) return this.startPull(uri);
    if (pkg !== undefined) {
      this.phase = { kind: 'downloading', pull: undefined };
      this.setState(FirmwareState.Downloading, UpdateResult.Initial);
      this.cx.log(`firmware: package of ${pkg.length} bytes pushed`);
      this.complete(now, pkg, undefined);
    }
    return { code: Code.Changed };
  }

  private startPull(uri: string): CoapAnswer {
    if (/^https?:\/\//i.test(uri) || /^coap\+tcp:|^coaps\+tcp:/i.test(uri)) {
      this.cx.store.set([5, 0, 1], uri);
      this.cx.store.set([5, 0, 5], UpdateResult.UnsupportedProtocol);
      this.cx.log(`firmware: ${uri.split(':')[0]} is not a protocol of this client (Update Result 9)`);
      return { code: Code.Changed };
    }
    const auth = coapUriAuthority(uri);
    const target = coapUriTarget(uri);
    if (!auth || !auth.host || !target) throw Lwm2mError.badRequest(`Package URI ${JSON.stringify(uri.slice(0, 80))} is not a coap:// or coaps:// URI`);
    this.cx.store.set([5, 0, 1], uri);
    this.setState(FirmwareState.Downloading, UpdateResult.Initial);
    this.cx.log(`firmware: downloading ${uri}`);
    const o = { blockSize: this.opts.blockSize ?? 1024, maxSize: this.maxSize, maxRetries: this.opts.maxRetries ?? 5, retryDelayMs: this.opts.retryDelayMs ?? 5000 };
    this.phase = { kind: 'downloading', pull: new PackagePull(uri, target, this.cx, o) };
    return { code: Code.Changed };
  }

  private executeUpdate(): CoapAnswer {
    const p = this.phase;
    if (p.kind !== 'downloaded') throw Lwm2mError.notAllowed(`Update needs a downloaded package (state ${p.kind})`);
    if (!eq(sha256(p.image), p.sha256)) {
      this.phase = { kind: 'idle' };
      this.setState(FirmwareState.Idle, UpdateResult.IntegrityCheckFailure);
      throw Lwm2mError.notAllowed('the downloaded package changed since its integrity check');
    }
    this.phase = { kind: 'updating', image: p.image, sha256: p.sha256, uri: p.uri, started: false };
    this.setState(FirmwareState.Updating, UpdateResult.Initial);
    return { code: Code.Changed };
  }

  private cancel(now: number): CoapAnswer {
    if (this.phase.kind !== 'downloading' && this.phase.kind !== 'downloaded') throw Lwm2mError.notAllowed(`nothing to cancel (state ${this.phase.kind})`);
    this.reset(now, 10, 'cancelled');
    return { code: Code.Changed };
  }

  /** After every call of the core: an Update answered runs the install hook. */
  afterAnswer(now: number): void {
    const p = this.phase;
    if (p.kind !== 'updating' || p.started) return;
    p.started = true;
    this.cx.log(`firmware: installing ${p.image.length} bytes`);
    const ok = this.opts.install(p.image, { sha256: p.sha256, uri: p.uri });
    if (ok !== undefined) this.installed(now, ok);
  }

  /** The install hook finished (success or failure). */
  installed(_now: number, ok: boolean): void {
    const p = this.phase;
    if (p.kind !== 'updating') return;
    if (ok) {
      this.phase = { kind: 'idle' };
      this.cx.store.set([5, 0, 1], '');
      this.setState(FirmwareState.Idle, UpdateResult.Success);
      this.cx.log('firmware: updated (Update Result 1)');
    } else {
      this.phase = { kind: 'downloaded', image: p.image, sha256: p.sha256, uri: p.uri };
      this.setState(FirmwareState.Downloaded, UpdateResult.UpdateFailed);
      this.cx.log('firmware: the update failed (Update Result 8)');
    }
  }

  // --- the Package URI download (firmware-pull.ts) ------------------------------------------

  private get download(): PackagePull | undefined {
    return this.phase.kind === 'downloading' ? this.phase.pull : undefined;
  }

  /** Whether a channel is the download's. */
  owns(channel: number): boolean {
    return this.download?.owns(channel) ?? false;
  }

  channelUp(now: number, channel: number): void {
    this.download?.channelUp(now, channel);
  }

  /** The download's channel could not be opened, or was lost. */
  channelGone(now: number, channel: number, reason: string): void {
    const outcome = this.download?.channelGone(now, channel, reason);
    if (outcome) this.pulled(now, outcome);
  }

  /** A CoAP result: true when it was the download's. */
  answered(now: number, e: AgentEvent): boolean {
    const outcome = this.download?.answered(now, e);
    if (outcome === undefined) return false;
    if (outcome !== 'running') this.pulled(now, outcome);
    return true;
  }

  deadline(): number | undefined {
    return this.download?.deadline();
  }

  timer(now: number): void {
    this.download?.timer(now);
  }

  /** stop(): the download's channel closed (the state stays as it is). */
  stop(now: number): void {
    this.download?.close(now);
  }

  // ------------------------------------------------------------------------------------

  private get maxSize(): number {
    return this.opts.maxSize ?? 1024 * 1024;
  }

  private pulled(now: number, outcome: PullOutcome): void {
    const p = this.phase;
    if (p.kind !== 'downloading') return;
    if (outcome.kind === 'failed') return this.fail(now, outcome.result, outcome.why);
    this.complete(now, outcome.image, p.pull?.uri);
  }

  private complete(now: number, image: Uint8Array, uri: string | undefined): void {
    if (image.length > this.maxSize) return this.fail(now, UpdateResult.NotEnoughFlash, `the package is ${image.length} bytes, more than ${this.maxSize}`);
    const digest = sha256(image);
    if (this.opts.verify && !this.opts.verify(image, digest)) return this.fail(now, UpdateResult.IntegrityCheckFailure, 'the package failed its integrity check');
    this.phase = { kind: 'downloaded', image, sha256: digest, uri };
    this.setState(FirmwareState.Downloaded, UpdateResult.Initial);
    this.cx.log(`firmware: ${image.length} bytes downloaded and verified`);
  }

  private fail(now: number, result: number, why: string): void {
    this.cx.log(`firmware: ${why} (Update Result ${result})`);
    this.closeDownload(now);
    this.phase = { kind: 'idle' };
    this.setState(FirmwareState.Idle, result);
  }

  private reset(now: number, result: number, why: string): void {
    this.closeDownload(now);
    this.phase = { kind: 'idle' };
    this.cx.store.set([5, 0, 1], '');
    this.setState(FirmwareState.Idle, result);
    this.cx.log(`firmware: ${why}`);
  }

  private closeDownload(now: number): void {
    this.download?.close(now);
  }

  private setState(state: number, result: number): void {
    if (this.cx.store.get([5, 0, 3]) !== state) this.cx.store.set([5, 0, 3], state);
    if (this.cx.store.get([5, 0, 5]) !== result) this.cx.store.set([5, 0, 5], result);
  }
}

export { UpdateResult };

/** The Firmware Update object of a client: defined in the store if it is not, then run. */
export function createFirmware(cx: FirmwareContext, opts: FirmwareOptions): FirmwareUpdate {
  if (!cx.store.definition(5)) cx.store.define(FIRMWARE_UPDATE);
  return new FirmwareUpdate(cx, opts);
}
