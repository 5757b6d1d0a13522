/**
 * What each throughput target of issue 13 leaves for our engine once Node's floors are paid,
 * from the figures of one run: the server CPU per operation the target allows, the part of it
 * no Node server can avoid (datagrams through node:dgram, measured as echo round trips; for
 * ECDHE also the P-256 crypto), what is left, and what coaps spends above the floor now. Where
 * the floor alone takes the budget, the target is out of reach on Node; where it does not, the
 * gap is ours. Pure (the markdown and the unit test use it).
 *
 * A handshake (dtls-load hs, cookie exchange, close_notify) is 4 datagrams in and 3 out, counted
 * as 3.5 echo round trips. The echo's cost per round trip depends on how many datagrams one
 * wake-up of the event loop finds: each row takes the echo measured with as many sockets as it
 * has sessions in flight (4 for the handshakes at C=4, 16 for CoAP), else the cheapest one
 * measured, which is then a lower bound.
 */
import { DTLS_LOAD_CLIENT, GNUTLS, isSkipped, OURS, type EchoRow, type Figures } from './figures.js';
import { TARGET_CONCURRENCY } from './targets.js';

/** dtls-load hs datagrams per handshake: ClientHello ×2, the client's last flight, close_notify in; HelloVerifyRequest, the server's flight, CCS + Finished out. */
export const HANDSHAKE_ROUND_TRIPS = 3.5;
/** The ratio targets of rows 1 and 2, and the ECDHE rate of row 4 (issue 13). */
export const RATIO_TARGET = 0.7;
export const ECDHE_TARGET = 3_500;

export interface BudgetRow {
  id: 'coap-w1' | 'psk-handshakes' | 'ecdhe' | 'client-p50';
  /** the operation and the target */
  what: string;
  /** server CPU per operation the target allows (one core, saturated), us */
  budgetUs: number;
  /** what any Node server pays per operation here, us, and of what */
  floorUs: number;
  floorWhat: string;
  /** budgetUs - floorUs: what the target leaves for the DTLS engine and the application */
  leftUs: number;
  /** coaps's server CPU per operation now, above the floor (on sockets), us; null: not measured */
  oursAboveUs: number | null;
  /** the peer's server CPU per operation, all in, us (libcoap+GnuTLS); null: none */
  peerUs: number | null;
  /** 1e6 / floorUs: the rate the floor alone would allow, /s (null: a latency row) */
  floorRate: number | null;
  note: string;
}

const perOp = (cpuPct: number | null, rate: number): number | null => (cpuPct === null || rate <= 0 ? null : ((cpuPct / 100) * 1e6) / rate);

/** The client row's target, ms (issue 13). */
export const CLIENT_P50_TARGET_MS = 0.4;

export function budgets(f: Pick<Figures, 'floors' | 'coap' | 'handshakes' | 'ecdhe' | 'client'>): BudgetRow[] {
  const fl = f.floors;
  if (isSkipped(fl) || isSkipped(fl.echo)) return [];
  const rows = throughputRows(f, fl.echo.rows);
  // The client's latency: its floor is what a C client takes against the same server in the
  // same run (the server's work and the loopback's round trips are in it too).
  const cl = f.client;
  if (!isSkipped(cl)) {
    const ours = cl.rows.find((r) => r.client === OURS);
    const c = cl.rows.find((r) => r.client === DTLS_LOAD_CLIENT);
    if (ours && c) {
      const budgetUs = CLIENT_P50_TARGET_MS * 1000;
      const floorUs = c.p50Ms * 1000;
      rows.push({
        id: 'client-p50',
        what: `client PSK handshake p50, sequential, against ${cl.server}, at ${CLIENT_P50_TARGET_MS} ms`,
        budgetUs,
        floorUs,
        floorWhat: `the p50 of ${DTLS_LOAD_CLIENT} against the same server: its work, the server's and the loopback round trips`,
        leftUs: budgetUs - floorUs,
        oursAboveUs: (ours.p50Ms - c.p50Ms) * 1000,
        peerUs: null,
        floorRate: null,
        note: 'a latency, not server CPU: the budget is the target itself',
      });
    }
  }
  return rows;
}

function throughputRows(f: Pick<Figures, 'coap' | 'handshakes' | 'ecdhe'>, echoRows: readonly EchoRow[]): BudgetRow[] {
  const driver = echoRows.filter((r) => r.server === 'node-driver' && r.usPerRoundTrip !== null);
  if (!driver.length) return [];
  const cheapest = Math.min(...driver.map((r) => r.usPerRoundTrip!));
  /** The round trip at this many sockets, or the cheapest measured (a lower bound) when that shape was not measured. */
  const roundTrip = (sockets: number): { us: number; shape: string } => {
    const r = driver.find((x) => x.sockets === sockets);
    return r ? { us: r.usPerRoundTrip!, shape: `${sockets} sockets` } : { us: cheapest, shape: 'the cheapest shape measured' };
  };
  const rows: BudgetRow[] = [];

  const c = f.coap;
  if (!isSkipped(c)) {
    const a = c.rows.find((r) => r.server === OURS && r.window === 1);
    const b = c.rows.find((r) => r.server === GNUTLS && r.window === 1);
    if (a && b && b.rate > 0) {
      const budgetUs = 1e6 / (RATIO_TARGET * b.rate);
      const ours = perOp(a.serverCpuPct, a.rate);
      const { us: rt, shape } = roundTrip(c.sessions);
      rows.push({
        id: 'coap-w1',
        what: `CoAP CON GET over DTLS, ${c.sessions} sessions W=1, at ${RATIO_TARGET}× ${GNUTLS} (${Math.round(RATIO_TARGET * b.rate)}/s)`,
        budgetUs,
        floorUs: rt,
        floorWhat: `one datagram in and one out (an echo round trip through our driver, ${shape})`,
        leftUs: budgetUs - rt,
        oursAboveUs: ours === null ? null : ours - rt,
        peerUs: perOp(b.serverCpuPct, b.rate),
        floorRate: 1e6 / rt,
        note: 'above the floor: a record opened and one sealed (CCM_8 in JS), CoAP decode, deduplication, the handler, encode',
      });
    }
  }

  const h = f.handshakes;
  if (!isSkipped(h)) {
    const a = h.points.find((p) => p.server === OURS && p.concurrency === TARGET_CONCURRENCY);
    const b = h.points.find((p) => p.server === GNUTLS && p.concurrency === TARGET_CONCURRENCY);
    if (a && b && b.rate > 0) {
      const budgetUs = 1e6 / (RATIO_TARGET * b.rate);
      const { us: rt, shape } = roundTrip(TARGET_CONCURRENCY);
      const floorUs = HANDSHAKE_ROUND_TRIPS * rt;
      const ours = perOp(a.serverCpuPct, a.rate);
      const e = f.ecdhe;
      const engine = !isSkipped(e) && e.inProcess && !('skipped' in e.inProcess) ? e.inProcess.pskServerUs : null;
      rows.push({
        id: 'psk-handshakes',
        what: `PSK full handshake, C=${TARGET_CONCURRENCY}, at ${RATIO_TARGET}× ${GNUTLS} (${Math.round(RATIO_TARGET * b.rate)}/s)`,
        budgetUs,
        floorUs,
        floorWhat: `4 datagrams in, 3 out (${HANDSHAKE_ROUND_TRIPS} echo round trips, ${shape})`,
        leftUs: budgetUs - floorUs,
        oursAboveUs: ours === null ? null : ours - floorUs,
        peerUs: perOp(b.serverCpuPct, b.rate),
        floorRate: 1e6 / floorUs,
        note:
          engine === null
            ? 'the engine in-process was not measured (part ecdhe)'
            : `the engine alone, in-process (bench/ecdhe-cpu.ts): ${Math.round(engine)} us a handshake, so floor + engine allow ${Math.round(1e6 / (floorUs + engine))}/s (${(1e6 / (floorUs + engine) / b.rate).toFixed(2)}× ${GNUTLS})`,
      });
    }
  }

  const e = f.ecdhe;
  if (!isSkipped(e) && e.inProcess && !('skipped' in e.inProcess) && e.inProcess.floorUs !== null) {
    const ip = e.inProcess;
    const budgetUs = 1e6 / ECDHE_TARGET;
    const crypto = ip.floorUs!;
    const { us: rt, shape } = roundTrip(e.concurrency);
    const floorUs = crypto + HANDSHAKE_ROUND_TRIPS * rt;
    rows.push({
      id: 'ecdhe',
      what: `ECDHE-ECDSA (RPK) full handshake at ${ECDHE_TARGET.toLocaleString('en-US')}/s`,
      budgetUs,
      floorUs,
      floorWhat: `P-256 keygen + ECDH + sign through node:crypto (${Math.round(crypto)} us) and ${HANDSHAKE_ROUND_TRIPS} echo round trips (${shape})`,
      leftUs: budgetUs - floorUs,
      oursAboveUs: e.serverUsPerHs === undefined ? null : e.serverUsPerHs - floorUs,
      peerUs: null,
      floorRate: 1e6 / floorUs,
      note: `in-process the engine spends ${Math.round(ip.serverUs - crypto)} us above the crypto floor (bench/ecdhe-cpu.ts); no peer line (dtls-load is PSK only)`,
    });
  }
  return rows;
}
