/**
 * Helpers for the interop suite: real peer programs (PEERS.md) under a hard timeout, a
 * private port allocator, polling waits, and a recording UDP relay ("tap") that lets a
 * test check the datagrams both ways, independently of our engine, and hand them to tshark.
 *
 * Every peer is bound to / connected on 127.0.0.1. Every child is started through
 * coreutils `timeout` (so it dies even if the test runner itself is killed) and is
 * registered so that `killAllPeers()` (call it in afterEach) ends whatever is left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixturePath } from '../test/helpers/fixtures.js';

// ---------------------------------------------------------------------------------------
// Constants shared by the interop tests (PEERS.md)

export const PSK_IDENTITY = 'Client_identity';
export const PSK_HEX = '73656372657450534b';
/** libcoap and node-dtls-client take the key as ASCII text. */
export const PSK_ASCII = 'secretPSK';
export const GNUTLS_PSK_PRIORITY = 'NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK:-CIPHER-ALL:+AES-128-CCM-8:-MAC-ALL:+AEAD';
export const LOOPBACK = '127.0.0.1';
/** GnuTLS priority for TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 on secp256r1 (PEERS.md). */
export const GNUTLS_ECC_PRIORITY =
  'NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+ECDHE-ECDSA:-CIPHER-ALL:+AES-128-CCM-8:-MAC-ALL:+AEAD:-GROUP-ALL:+GROUP-SECP256R1';
/** The same with RFC 7250 raw public keys only, both ways. */
export const GNUTLS_RPK_PRIORITY = `${GNUTLS_ECC_PRIORITY}:-CTYPE-ALL:+CTYPE-CLI-RAWPK:+CTYPE-SRV-RAWPK`;
/** OpenSSL's name for TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, and the P-256 options it needs (PEERS.md). */
export const OPENSSL_ECDHE_ARGS = ['-cipher', 'ECDHE-ECDSA-AES128-CCM8', '-groups', 'P-256'];
/**
 * GNUTLS_SYSTEM_PRIORITY_FILE configs that force CCM_8 on GnuTLS programs that take no priority
 * string (libcoap's gnutls build): 0xC0A8, or 0xC0AE on secp256r1 (PEERS.md).
 */
export const GNUTLS_CCM8_ONLY = fixturePath('gnutls/ccm8-only.conf');
export const GNUTLS_CCM8_P256 = fixturePath('gnutls/ccm8-p256.conf');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The repository root. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The built CLI (`npm run build`; `npm install` builds it too, through `prepare`). */
export const CLI = join(ROOT, 'dist/lib/cli/main.js');
/** Where install-peers.sh puts the npm peers (node-dtls-client, node-coap-client). */
export const PEERS_DIR = join(ROOT, 'interop/peers');

// ---------------------------------------------------------------------------------------
// Ports

async function canBind(type: 'udp4' | 'udp6', port: number, address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket({ type, ipv6Only: type === 'udp6' });
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, address, () => s.close(() => resolve(true)));
  });
}

/** Free for UDP on every address (gnutls-serv binds 0.0.0.0 and ::; we use 127.0.0.1). */
export async function udpPortFree(port: number): Promise<boolean> {
  if (!(await canBind('udp4', port, '0.0.0.0'))) return false;
  // IPv6 may be disabled on the machine: only an EADDRINUSE on :: counts as taken.
  const v6 = await new Promise<'free' | 'taken' | 'n/a'>((resolve) => {
    const s = createSocket({ type: 'udp6', ipv6Only: true });
    s.once('error', (e: NodeJS.ErrnoException) => {
      s.close();
      resolve(e.code === 'EADDRINUSE' ? 'taken' : 'n/a');
    });
    s.bind(port, '::', () => s.close(() => resolve('free')));
  });
  return v6 !== 'taken';
}

/**
 * A private port allocator for one test file: a block of 200 ports in 20000-29999 chosen
 * from the file's name (so two files rarely share ports), handed out in order, each
 * checked free by binding it (on every address). Ports are never reused within the file,
 * so a leftover from a killed peer cannot hit a later case. `next(n)` returns the first of
 * n consecutive free ports (libcoap's coap-server listens for coaps on P+1).
 */
export function portAllocator(fileKey: string): (count?: number) => Promise<number> {
  const blocks = 50; // 50 blocks of 200 ports = 20000..29999
  const h = createHash('sha256').update(fileKey).digest();
  const base = 20000 + (h.readUInt16BE(0) % blocks) * 200;
  let next = 0;
  return async (count = 1) => {
    search: while (next + count <= 200) {
      const first = base + next;
      for (let i = 0; i < count; i++) {
        next++;
        if (!(await udpPortFree(first + i))) continue search;
      }
      return first;
    }
    throw new Error(`no ${count} free UDP port(s) left in ${base}..${base + 199}`);
  };
}

// ---------------------------------------------------------------------------------------
// Waiting

/** Polls `predicate` until it returns a truthy value (returned) or `timeoutMs` passes (throws). */
export async function waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs: number, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = predicate();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Resolves with the event's arguments, or rejects after `timeoutMs`. */
export function once<A extends unknown[] = unknown[]>(
  emitter: { once(ev: string, f: (...a: A) => void): unknown; off(ev: string, f: (...a: A) => void): unknown },
  event: string,
  timeoutMs: number,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const f = (...a: A) => {
      clearTimeout(t);
      resolve(a);
    };
    const t = setTimeout(() => {
      emitter.off(event, f);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`));
    }, timeoutMs);
    emitter.once(event, f);
  });
}

// ---------------------------------------------------------------------------------------
// Peers

export interface PeerOptions {
  /** Written to stdin right away (stdin stays open unless `endStdin`). */
  stdin?: string;
  /** Close stdin after writing `stdin`. */
  endStdin?: boolean;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Hard limit: the process is killed after this long (ms). */
  timeoutMs: number;
  /** Cap on the captured output per stream (gnutls-serv can loop printing after errors). */
  maxOutput?: number;
}

export interface PeerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class Peer {
  stdout = '';
  stderr = '';
  exit: PeerExit | undefined;
  readonly exited: Promise<PeerExit>;
  private killTimer: NodeJS.Timeout;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    timeoutMs: number,
    maxOutput: number,
  ) {
    const cap = (s: string, d: Buffer) => (s.length >= maxOutput ? s : (s + d.toString('utf8')).slice(0, maxOutput));
    child.stdout?.on('data', (d: Buffer) => (this.stdout = cap(this.stdout, d)));
    child.stderr?.on('data', (d: Buffer) => (this.stderr = cap(this.stderr, d)));
    child.stdin?.on('error', () => {
      /* EPIPE when the peer exits before reading: irrelevant */
    });
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        clearTimeout(this.killTimer);
        this.exit = { code, signal };
        resolve(this.exit);
      });
      child.once('error', (e) => {
        this.stderr += `\nspawn error: ${e.message}`;
        clearTimeout(this.killTimer);
        this.exit = { code: null, signal: null };
        resolve(this.exit);
      });
    });
    this.killTimer = setTimeout(() => this.kill(), timeoutMs + 1000);
  }

  /** stdout + stderr. */
  get output(): string {
    return this.stdout + this.stderr;
  }

  write(s: string): void {
    if (this.child.stdin && !this.child.stdin.destroyed && !this.child.stdin.writableEnded) this.child.stdin.write(s);
  }
  end(): void {
    if (this.child.stdin && !this.child.stdin.writableEnded) this.child.stdin.end();
  }

  /** Waits until stdout+stderr matches (returns the match), or throws with the output so far. */
  async waitFor(re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    try {
      return await waitFor(() => this.output.match(re), timeoutMs, `${this.name} to print ${re}`);
    } catch (e) {
      throw new Error(`${(e as Error).message}; ${this.describe()}`);
    }
  }

  /** Waits for the process to exit (throws on timeout). */
  async waitExit(timeoutMs: number): Promise<PeerExit> {
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${this.name} did not exit within ${timeoutMs} ms; ${this.describe()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(t);
    }
  }

  /** Sends a signal to the program (`timeout` forwards INT/TERM/HUP to it). */
  signal(sig: NodeJS.Signals): void {
    if (this.exit || !this.child.pid) return;
    try {
      process.kill(this.child.pid, sig);
    } catch {
      /* already gone */
    }
  }

  kill(): void {
    if (this.exit) return;
    const pid = this.child.pid;
    try {
      // `timeout` makes itself a process-group leader: this ends it and the peer together.
      if (pid) process.kill(-pid, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
  }

  describe(): string {
    const tail = (s: string) => (s.length > 1500 ? '...' + s.slice(-1500) : s);
    return `${this.name} exit=${JSON.stringify(this.exit ?? 'running')}\n--- stdout ---\n${tail(this.stdout)}\n--- stderr ---\n${tail(this.stderr)}`;
  }
}

const livePeers = new Set<Peer>();

/**
 * Spawns a real program under `timeout` (hard kill `timeoutMs` later); stdin is a pipe that
 * stays open (openssl s_server exits on stdin EOF) unless `endStdin`.
 */
export function runPeer(cmd: string, args: string[], opts: PeerOptions): Peer {
  const secs = Math.max(1, Math.ceil(opts.timeoutMs / 1000));
  const child = spawn('timeout', ['-s', 'TERM', '-k', '1', String(secs), cmd, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
    cwd: opts.cwd,
  });
  const peer = new Peer(cmd.split('/').pop() ?? cmd, child, opts.timeoutMs, opts.maxOutput ?? 256 * 1024);
  livePeers.add(peer);
  void peer.exited.then(() => livePeers.delete(peer));
  if (opts.stdin !== undefined) peer.write(opts.stdin);
  if (opts.endStdin) peer.end();
  return peer;
}

/** Kills every peer still running (call in afterEach) and waits for them to be gone. */
export async function killAllPeers(): Promise<void> {
  const peers = [...livePeers];
  for (const p of peers) p.kill();
  await Promise.all(peers.map((p) => Promise.race([p.exited, sleep(2000)])));
}

// ---------------------------------------------------------------------------------------
// Temporary directories

const tempDirs: string[] = [];
export function tempDir(prefix = 'coaps-interop-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}
export function removeTempDirs(): void {
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------
// P-256 key files for the peers (GnuTLS and OpenSSL read PEM only)

/** A P-256 key pair given as hex (tinydtls style: scalar, X, Y). */
export interface P256HexKey {
  privHex: string;
  xHex: string;
  yHex: string;
}

export interface P256KeyFiles {
  /** PKCS#8 PEM private key */
  keyPem: string;
  /** SPKI PEM public key (gnutls `--rawpkfile`, our `--trust`) */
  pubPem: string;
  /** 64 hex digits of the scalar (our CLI's `--key`) */
  scalarHex: string;
  /** 128 hex digits X‖Y (our CLI's `--trust`) */
  xyHex: string;
}

/** Writes `name.key.pem`, `name.pub.pem`, `name.scalar.hex` and `name.xy.hex` into `dir`. */
export function writeP256KeyFiles(dir: string, name: string, k: P256HexKey): P256KeyFiles {
  const b64u = (h: string) => Buffer.from(h, 'hex').toString('base64url');
  const priv = createPrivateKey({ key: { kty: 'EC', crv: 'P-256', d: b64u(k.privHex), x: b64u(k.xHex), y: b64u(k.yHex) }, format: 'jwk' });
  const files: P256KeyFiles = {
    keyPem: join(dir, `${name}.key.pem`),
    pubPem: join(dir, `${name}.pub.pem`),
    scalarHex: join(dir, `${name}.scalar.hex`),
    xyHex: join(dir, `${name}.xy.hex`),
  };
  writeFileSync(files.keyPem, priv.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(files.pubPem, createPublicKey(priv).export({ type: 'spki', format: 'pem' }));
  writeFileSync(files.scalarHex, k.privHex + '\n', { mode: 0o600 });
  writeFileSync(files.xyHex, k.xHex + k.yHex + '\n');
  return files;
}

/** A fresh P-256 key pair as hex (a key nobody trusts). */
export function randomP256HexKey(): P256HexKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  const hex = (s: string | undefined) => Buffer.from(s ?? '', 'base64url').toString('hex');
  return { privHex: hex(jwk.d), xHex: hex(jwk.x), yHex: hex(jwk.y) };
}

// ---------------------------------------------------------------------------------------
// Things to be closed after each test (servers, sessions, taps)

const cleanups: Array<() => unknown> = [];
/** Registers a cleanup run by `runCleanups()` (afterEach), most recent first. */
export function onCleanup(f: () => unknown): void {
  cleanups.push(f);
}
export async function runCleanups(): Promise<void> {
  for (const f of cleanups.splice(0).reverse()) {
    try {
      await Promise.race([f(), sleep(2000)]);
    } catch {
      /* best effort */
    }
  }
}

// ---------------------------------------------------------------------------------------
// A recording UDP relay: client -> tap (127.0.0.1:port) -> target, and back.

export type Direction = 'c2s' | 's2c';
export interface TappedDatagram {
  dir: Direction;
  /** ms since the tap started */
  t: number;
  /** the client's port (one tap relays several clients, each with its own upstream socket) */
  clientPort: number;
  /** the port of the upstream socket that carried it: the client's source port as the target sees it */
  upstreamPort: number;
  data: Buffer;
}

export interface DtlsRecordHeader {
  /** 25 (tls12_cid, RFC 9146) for a record with a connection ID: the real type is inside, encrypted */
  type: number;
  version: number;
  epoch: number;
  sequence: number;
  length: number;
  /** protected content bytes */
  fragment: Buffer;
  /** tls12_cid records: the connection ID (between the sequence number and the length) */
  cid?: Buffer;
}

export const CONTENT_TYPE = { change_cipher_spec: 20, alert: 21, handshake: 22, application_data: 23, tls12_cid: 25 } as const;

/**
 * Splits a datagram into DTLS records by their headers alone (RFC 6347 §4.1). A tls12_cid
 * record (RFC 9146 §4) carries its CID before the length, and the CID has no length byte on
 * the wire: give the length the receiver chose (`cidLength`) to read them.
 */
export function parseRecords(d: Buffer, cidLength = 0): DtlsRecordHeader[] {
  const out: DtlsRecordHeader[] = [];
  let at = 0;
  while (at + 13 <= d.length) {
    const cid = d[at] === CONTENT_TYPE.tls12_cid ? cidLength : 0;
    const length = d.readUInt16BE(at + 11 + cid);
    const start = at + 13 + cid;
    out.push({
      type: d[at]!,
      version: d.readUInt16BE(at + 1),
      epoch: d.readUInt16BE(at + 3),
      sequence: d.readUIntBE(at + 5, 6),
      length,
      fragment: d.subarray(start, start + length),
      ...(d[at] === CONTENT_TYPE.tls12_cid ? { cid: d.subarray(at + 11, at + 11 + cid) } : {}),
    });
    at = start + length;
  }
  if (at !== d.length) throw new Error(`datagram of ${d.length} bytes has ${d.length - at} trailing bytes after its records`);
  return out;
}

/** A tap's socket toward the target for one client, and its port (0 until bound). */
interface Upstream {
  socket: Socket;
  port: number;
}

export class UdpTap {
  readonly datagrams: TappedDatagram[] = [];
  /** Return true to drop a datagram (a lossy link); dropped ones are not recorded. */
  dropIf: ((dir: Direction, data: Buffer, clientPort: number) => boolean) | undefined;
  /** Datagrams dropped by dropIf, per direction. */
  readonly dropped = { c2s: 0, s2c: 0 };
  private readonly front: Socket;
  private readonly upstream = new Map<string, Upstream>();
  /** Upstream sockets replaced by moveClient({ keepOld: true }): still relaying, closed with the tap. */
  private readonly retired: Upstream[] = [];
  private readonly started = Date.now();
  port = 0;

  private constructor(
    public targetPort: number,
    readonly targetHost: string,
  ) {
    this.front = createSocket('udp4');
  }

  /** Listens on 127.0.0.1:`port` and relays to targetHost:targetPort. */
  static async start(port: number, targetPort: number, targetHost = LOOPBACK): Promise<UdpTap> {
    const tap = new UdpTap(targetPort, targetHost);
    tap.front.on('message', (msg, rinfo) => tap.fromClient(msg, rinfo));
    await new Promise<void>((resolve, reject) => {
      tap.front.once('error', reject);
      tap.front.bind(port, LOOPBACK, () => {
        tap.front.off('error', reject);
        resolve();
      });
    });
    tap.front.on('error', () => {});
    tap.port = tap.front.address().port;
    onCleanup(() => tap.close());
    return tap;
  }

  private fromClient(msg: Buffer, rinfo: RemoteInfo): void {
    const key = `${rinfo.address}:${rinfo.port}`;
    const up = this.upstream.get(key) ?? this.openUpstream(rinfo);
    if (this.dropIf?.('c2s', msg, rinfo.port)) {
      this.dropped.c2s++;
      return;
    }
    this.datagrams.push({ dir: 'c2s', t: Date.now() - this.started, clientPort: rinfo.port, upstreamPort: up.port, data: Buffer.from(msg) });
    up.socket.send(msg, this.targetPort, this.targetHost);
  }

  /** A new upstream socket for a client (bound at once, so its port is known), relaying the target's answers back. */
  private openUpstream(client: { address: string; port: number }): Upstream {
    const socket = createSocket('udp4');
    socket.on('error', () => {});
    socket.bind(0, LOOPBACK);
    const up: Upstream = { socket, port: 0 };
    socket.on('listening', () => (up.port = socket.address().port));
    socket.on('message', (m) => {
      if (this.dropIf?.('s2c', m, client.port)) {
        this.dropped.s2c++;
        return;
      }
      this.datagrams.push({ dir: 's2c', t: Date.now() - this.started, clientPort: client.port, upstreamPort: up.port, data: Buffer.from(m) });
      this.front.send(m, client.port, client.address);
    });
    this.upstream.set(`${client.address}:${client.port}`, up);
    return up;
  }

  /** The source port the target sees for a client (its upstream socket's), once it has sent. */
  async upstreamPortOf(clientPort: number, clientHost = LOOPBACK): Promise<number> {
    const up = this.upstream.get(`${clientHost}:${clientPort}`);
    if (!up) throw new Error(`no client ${clientHost}:${clientPort} on this tap`);
    if (up.port === 0) await new Promise<void>((r) => up.socket.once('listening', () => r()));
    return up.port;
  }

  /**
   * A NAT rebinding: from now on the client's datagrams reach the target from a new source port
   * (a new upstream socket), and the target's answers are relayed only from there. The old
   * socket is closed (the old mapping is gone), unless `keepOld`: then what the target still
   * sends to the old port is relayed to the client too (a NAT that keeps both mappings a while).
   * Resolves with the new upstream port.
   */
  async moveClient(clientPort: number, o: { keepOld?: boolean; clientHost?: string } = {}): Promise<number> {
    const host = o.clientHost ?? LOOPBACK;
    const key = `${host}:${clientPort}`;
    const old = this.upstream.get(key);
    if (!old) throw new Error(`no client ${key} on this tap`);
    if (o.keepOld) this.retired.push(old);
    else old.socket.close();
    this.upstream.delete(key);
    this.openUpstream({ address: host, port: clientPort });
    return this.upstreamPortOf(clientPort, host);
  }

  /**
   * A load balancer that sends the clients' datagrams to another server (on targetHost) from
   * now on; the clients keep their upstream ports, so the new server sees the same addresses.
   */
  retarget(port: number): void {
    this.targetPort = port;
  }

  /** Every record, in order, with its direction (`cidLength`: see parseRecords). */
  records(cidLength = 0): Array<DtlsRecordHeader & { dir: Direction; clientPort: number; upstreamPort: number }> {
    return this.datagrams.flatMap((d) => parseRecords(d.data, cidLength).map((r) => ({ ...r, dir: d.dir, clientPort: d.clientPort, upstreamPort: d.upstreamPort })));
  }

  /** Protected (epoch >= 1) alert records in a direction: after the handshake, a close_notify. */
  protectedAlerts(dir: Direction): DtlsRecordHeader[] {
    return this.records().filter((r) => r.dir === dir && r.type === CONTENT_TYPE.alert && r.epoch >= 1);
  }

  /**
   * Writes a pcap (LINKTYPE_RAW, IPv4/UDP on 127.0.0.1) of the relayed datagrams as if the
   * client had talked straight to `serverPort` (the tap's port), for tshark.
   */
  writePcap(file: string): void {
    const parts: Buffer[] = [];
    const gh = Buffer.alloc(24);
    gh.writeUInt32LE(0xa1b2c3d4, 0);
    gh.writeUInt16LE(2, 4);
    gh.writeUInt16LE(4, 6);
    gh.writeUInt32LE(65535, 16);
    gh.writeUInt32LE(101, 20); // LINKTYPE_RAW
    parts.push(gh);
    for (const d of this.datagrams) {
      const [sport, dport] = d.dir === 'c2s' ? [d.clientPort, this.port] : [this.port, d.clientPort];
      const ip = Buffer.alloc(28);
      ip[0] = 0x45;
      ip.writeUInt16BE(28 + d.data.length, 2);
      ip[8] = 64;
      ip[9] = 17; // UDP
      ip.set([127, 0, 0, 1], 12);
      ip.set([127, 0, 0, 1], 16);
      let sum = 0;
      for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
      while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
      ip.writeUInt16BE(~sum & 0xffff, 10);
      ip.writeUInt16BE(sport, 20);
      ip.writeUInt16BE(dport, 22);
      ip.writeUInt16BE(8 + d.data.length, 24); // checksum 0: none
      const rh = Buffer.alloc(16);
      const t = this.started + d.t;
      rh.writeUInt32LE(Math.floor(t / 1000), 0);
      rh.writeUInt32LE((t % 1000) * 1000, 4);
      rh.writeUInt32LE(28 + d.data.length, 8);
      rh.writeUInt32LE(28 + d.data.length, 12);
      parts.push(rh, ip, d.data);
    }
    writeFileSync(file, Buffer.concat(parts));
  }

  async close(): Promise<void> {
    for (const u of [...this.upstream.values(), ...this.retired.splice(0)]) {
      try {
        u.socket.close();
      } catch {
        /* already closed */
      }
    }
    this.upstream.clear();
    await new Promise<void>((r) => {
      try {
        this.front.close(() => r());
      } catch {
        r();
      }
    });
  }
}

// ---------------------------------------------------------------------------------------
// tshark

export interface TsharkAlert {
  dir: Direction;
  /** Alert description code as decoded (and decrypted) by Wireshark. */
  description: number;
  level: number;
}

/**
 * Decodes the tap's datagrams with tshark, decrypting with the PSK (an independent DTLS
 * implementation), or for ECDHE with an NSS key log file, and returns every alert it could
 * read in each direction. Returns undefined when tshark is not installed.
 */
export async function tsharkAlerts(tap: UdpTap, dir: string, pskHex = PSK_HEX, keylogFile?: string): Promise<TsharkAlert[] | undefined> {
  const file = join(dir, `tap-${tap.port}.pcap`);
  tap.writePcap(file);
  const p = runPeer(
    'tshark',
    [
      '-n',
      '-r', file,
      '-d', `udp.port==${tap.port},dtls`,
      '-o', `dtls.psk:${pskHex}`,
      // ECDHE: the NSS key log one side wrote (`keyLog` option) lets tshark decrypt
      ...(keylogFile ? ['-o', `tls.keylog_file:${keylogFile}`] : []),
      '-Y', 'dtls.alert_message',
      '-T', 'fields',
      '-E', 'occurrence=a',
      '-E', 'aggregator=;',
      '-e', 'udp.srcport',
      '-e', 'dtls.alert_message.level',
      '-e', 'dtls.alert_message.desc',
    ],
    { timeoutMs: 15_000, endStdin: true },
  );
  const exit = await p.exited;
  if (exit.code === 127 || /spawn error|No such file/.test(p.stderr)) return undefined;
  if (exit.code !== 0) throw new Error(`tshark failed: ${p.describe()}`);
  const alerts: TsharkAlert[] = [];
  for (const line of p.stdout.split('\n')) {
    if (!line.trim()) continue;
    const [sport, levels, descs] = line.split('\t');
    const ls = (levels ?? '').split(';');
    const ds = (descs ?? '').split(';');
    ds.forEach((desc, i) => {
      if (desc === '') return;
      alerts.push({ dir: Number(sport) === tap.port ? 's2c' : 'c2s', description: Number(desc), level: Number(ls[i]) });
    });
  }
  return alerts;
}

export const ALERT_CLOSE_NOTIFY = 0;
export const ALERT_BAD_RECORD_MAC = 20;
