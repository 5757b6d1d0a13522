import { toHex } from '../bytes/util.js';
import type { AttributeStore, EffectiveAttributes } from './attributes.js';
import type { CoapAgent } from './coap-agent.js';
import { nextDue, notified, startClock, step, type NotifyClock, type Sample } from './notify-rules.js';
import type { ObjectStore } from './object-store.js';
import { pathToString, startsWith, type Path, type Value } from './types.js';

/** One observation of the registered server: a path (or several, Observe-Composite) on a token. */
interface Observation {
  channel: number;
  token: Uint8Array;
  paths: Path[];
  composite: boolean;
  clock: NotifyClock;
}

/** What the observations need from the registration: the server, its default periods. */
export interface ObservationContext {
  agent: CoapAgent<number>;
  store: ObjectStore;
  attributes: AttributeStore;
  shortServerId: number;
  /** Default Minimum/Maximum Period of the server's /1 instance (/1/x/2, /1/x/3), in seconds. */
  defaults(): { pmin?: number; pmax?: number };
}

/**
 * The client's observations for its registered server (RFC 7641, with the LwM2M notification
 * attributes): each runs the rules of notify-rules.ts on its own clock; a change of the store
 * marks the observations of that path, of its parents and of its children as changed; what is
 * due is sent through the CoAP agent, which re-runs the server's Read (or Read-Composite) for
 * the notification. An observation the server cancelled (Observe=1, RST, an error answer) is
 * dropped when next due.
 */
export class ClientObservations {
  private readonly byToken = new Map<string, Observation>();

  constructor(private readonly cx: ObservationContext) {}

  get size(): number {
    return this.byToken.size;
  }

  /** The server's Observe (or Observe-Composite) on `token` was answered with a success: track it. */
  add(now: number, channel: number, token: Uint8Array, paths: Path[], composite: boolean): void {
    this.byToken.set(`${channel}|${toHex(token)}`, { channel, token, paths, composite, clock: startClock(now, this.sample(paths, composite)) });
  }

  /** The server cancelled an observation (GET with Observe=1 on its token). */
  remove(channel: number, token: Uint8Array): void {
    this.byToken.delete(`${channel}|${toHex(token)}`);
  }

  clear(): void {
    this.byToken.clear();
  }

  /** The application changed `path`: true when an observation is concerned. */
  changed(path: Path): boolean {
    let any = false;
    for (const o of this.byToken.values()) {
      if (o.paths.some((p) => startsWith(p, path) || startsWith(path, p))) {
        o.clock = { ...o.clock, changed: true };
        any = true;
      }
    }
    return any;
  }

  /** The earliest time something is due (an evaluation, a notification). */
  nextDeadline(): number | undefined {
    let t: number | undefined;
    for (const o of this.byToken.values()) {
      const d = nextDue(o.clock, this.effective(o));
      if (d !== undefined && (t === undefined || d < t)) t = d;
    }
    return t;
  }

  /** Whether something is due at `now`. */
  due(now: number): boolean {
    const t = this.nextDeadline();
    return t !== undefined && t <= now;
  }

  /** Evaluates what is due and sends the notifications. */
  run(now: number): void {
    for (const [key, o] of [...this.byToken]) {
      const a = this.effective(o);
      const due = nextDue(o.clock, a);
      if (due === undefined || due > now) continue;
      const { clock, notify } = step(o.clock, a, now, () => this.sample(o.paths, o.composite));
      o.clock = clock;
      if (!notify) continue;
      const value = this.sample(o.paths, o.composite);
      const answer = this.cx.agent.notifyToken(now, o.channel, o.token);
      if (!answer || answer.code >= 0x80) this.byToken.delete(key); // cancelled, or ended by an error notification
      else o.clock = notified(now, value);
    }
  }

  // ------------------------------------------------------------------------------------

  /** Composite observations run with the server's default periods only. */
  private effective(o: Observation): EffectiveAttributes {
    const path = o.composite ? [] : o.paths[0]!;
    return this.cx.attributes.effective(this.cx.shortServerId, path, this.cx.defaults());
  }

  /** The values under the paths as a comparable key, and the number of a single numeric resource. */
  private sample(paths: Path[], composite: boolean): Sample {
    const parts: string[] = [];
    let number: number | undefined;
    for (const p of paths) {
      try {
        const records = this.cx.store.read(p);
        for (const r of records) parts.push(`${pathToString(r.path)}=${valueKey(r.value)}`);
        if (!composite && records.length === 1 && p.length >= 3) {
          const v = records[0]!.value;
          if (typeof v === 'number' || typeof v === 'bigint') number = Number(v);
        }
      } catch (e) {
        parts.push(`${pathToString(p)}!${(e as Error).message}`);
      }
    }
    return { key: parts.join(';'), number };
  }
}

function valueKey(v: Value): string {
  if (v instanceof Uint8Array) return `b:${toHex(v)}`;
  if (typeof v === 'bigint') return `n:${v}`;
  if (typeof v === 'number') return `n:${Object.is(v, -0) ? '-0' : v}`;
  if (typeof v === 'object') return `o:${v.objectId}:${v.instanceId}`;
  return `${typeof v}:${v}`;
}
