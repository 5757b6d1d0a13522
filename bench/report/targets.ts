/**
 * Issue 13's target table, evaluated from the figures of one run: each row's measured figure
 * (a ratio to libcoap+GnuTLS measured in the same run, or an absolute), its target, and whether
 * it is met. A row whose inputs were not measured is `met: null` with the reason. Pure.
 */
import { GNUTLS, isSkipped, OURS, OURS_SMALL_YOUNG, type Figures, type TargetRow } from './figures.js';

/** DESIGN.md "Budgets on this machine": ECDHE_ECDSA handshakes/s, server, one core (5.3-5.6k). */
export const ECDHE_CEILING = 5_450;
/** The concurrency of the issue's handshake and latency rows. */
export const TARGET_CONCURRENCY = 4;

export function meets(measured: number | null, target: TargetRow['target']): boolean | null {
  if (measured === null || !Number.isFinite(measured)) return null;
  return target.op === '>=' ? measured >= target.value : measured <= target.value;
}

function row(r: Omit<TargetRow, 'met'>): TargetRow {
  return { ...r, met: meets(r.measured, r.target) };
}

/** `why` when a part is skipped or has no figure for a server. */
function reasonOf(part: unknown, fallback: string): string {
  return part !== undefined && typeof part === 'object' && part !== null && 'skipped' in part ? String((part as { skipped: string }).skipped) : fallback;
}

export function evaluateTargets(f: Omit<Figures, 'targets'>): TargetRow[] {
  const rows: TargetRow[] = [];

  // 1. PSK full handshakes/s at C=4, coaps / libcoap-gnutls
  {
    const target = { op: '>=' as const, value: 0.7, unit: '×' };
    const base = { id: 'psk-handshakes', metric: 'PSK full handshakes/s, one server core, vs libcoap+GnuTLS', before: '0.39×', target, basis: `coaps / ${GNUTLS}, dtls-load hs C=${TARGET_CONCURRENCY}` };
    const h = f.handshakes;
    if (isSkipped(h)) rows.push(row({ ...base, measured: null, note: `not measured: ${reasonOf(h, 'part not run')}` }));
    else {
      const a = h.points.find((p) => p.server === OURS && p.concurrency === TARGET_CONCURRENCY);
      const b = h.points.find((p) => p.server === GNUTLS && p.concurrency === TARGET_CONCURRENCY);
      if (!a || !b || b.rate <= 0) rows.push(row({ ...base, measured: null, note: `not measured: ${!a ? 'no coaps figure at C=4' : (h.missing[GNUTLS] ?? `no ${GNUTLS} figure at C=4`)}` }));
      else rows.push(row({ ...base, measured: a.rate / b.rate, note: `${Math.round(a.rate)}/s vs ${Math.round(b.rate)}/s` }));
    }
  }

  // 2. CoAP CON GET/s, 16 sessions W=1, coaps / libcoap-gnutls
  {
    const target = { op: '>=' as const, value: 0.7, unit: '×' };
    const c = f.coap;
    const sessions = isSkipped(c) ? 16 : c.sessions;
    const base = { id: 'coap-w1', metric: `CoAP CON GET/s over DTLS, ${sessions} sessions W=1, vs libcoap+GnuTLS`, before: '0.30×', target, basis: `coaps / ${GNUTLS}, dtls-load coap` };
    if (isSkipped(c)) rows.push(row({ ...base, measured: null, note: `not measured: ${reasonOf(c, 'part not run')}` }));
    else {
      const a = c.rows.find((r) => r.server === OURS && r.window === 1);
      const b = c.rows.find((r) => r.server === GNUTLS && r.window === 1);
      if (!a || !b || b.rate <= 0) rows.push(row({ ...base, measured: null, note: `not measured: ${!a ? 'no coaps figure at W=1' : (c.missing[GNUTLS] ?? `no ${GNUTLS} figure at W=1`)}` }));
      else rows.push(row({ ...base, measured: a.rate / b.rate, note: `${Math.round(a.rate)}/s vs ${Math.round(b.rate)}/s` }));
    }
  }

  // 3. p99 handshake latency at C=4, coaps / libcoap-gnutls (lower is better)
  {
    const target = { op: '<=' as const, value: 2, unit: '×' };
    const base = { id: 'p99-c4', metric: `p99 handshake latency at C=${TARGET_CONCURRENCY}, vs libcoap+GnuTLS`, before: '~7×', target, basis: `coaps p99 / ${GNUTLS} p99` };
    const l = f.latency;
    if (isSkipped(l)) rows.push(row({ ...base, measured: null, note: `not measured: ${reasonOf(l, reasonOf(f.handshakes, 'part not run'))}` }));
    else {
      const a = l.rows.find((r) => r.server === OURS);
      const b = l.rows.find((r) => r.server === GNUTLS);
      if (!a || !b || b.p99Ms <= 0) rows.push(row({ ...base, measured: null, note: `not measured: no ${!a ? 'coaps' : GNUTLS} latency at C=${l.concurrency}` }));
      else {
        const y = l.rows.find((r) => r.server === OURS_SMALL_YOUNG);
        const young = y ? `; with a 1 MB young generation (node --max-semi-space-size=1: shorter, more frequent scavenges) ${y.p99Ms.toFixed(2)} ms, ${(y.p99Ms / b.p99Ms).toFixed(2)}×` : '';
        rows.push(row({ ...base, measured: a.p99Ms / b.p99Ms, note: `${a.p99Ms.toFixed(2)} ms vs ${b.p99Ms.toFixed(2)} ms${young}` }));
      }
    }
  }

  // 4. ECDHE-ECDSA handshakes/s (absolute; no peer: dtls-load is PSK only)
  {
    const target = { op: '>=' as const, value: 3500, unit: '/s' };
    const base = { id: 'ecdhe', metric: 'ECDHE-ECDSA handshakes/s, RPK, no client auth', before: '~2.0k/s', target, basis: 'achieved handshakes/s (bench/ecdhe-load-client.ts)' };
    const e = f.ecdhe;
    if (isSkipped(e)) rows.push(row({ ...base, measured: null, note: `not measured: ${reasonOf(e, 'part not run')}` }));
    else
      rows.push(
        row({
          ...base,
          measured: e.rate,
          note:
            `${(e.rate / e.ceiling).toFixed(2)} of the ${e.ceiling.toLocaleString('en-US')}/s ceiling; one-core capacity from server CPU ${Math.round(e.capacity)}/s; ${e.bound}` +
            (e.inProcess && !('skipped' in e.inProcess) ? `; in-process server CPU ${Math.round(e.inProcess.serverUs)} us/handshake (engine capacity ${Math.round(e.inProcess.capacity)}/s)` : ''),
        }),
      );
  }

  // 5. heap + native bytes per idle session at 100k sessions
  {
    const target = { op: '<=' as const, value: 512, unit: 'B' };
    const base = { id: 'memory', metric: 'heap + native bytes per idle established session at 100k sessions', before: '~3.7 KB heap', target, basis: 'heapUsed + external growth / sessions' };
    const m = f.memory;
    if (isSkipped(m) || m.points.length === 0) rows.push(row({ ...base, measured: null, note: `not measured: ${reasonOf(m, m === undefined ? 'part not run' : 'no points')}` }));
    else {
      const largest = [...m.points].sort((a, b) => b.sessions - a.sessions)[0]!;
      const at = largest.sessions >= 100_000 ? '' : `at ${largest.sessions.toLocaleString('en-US')} sessions (100k not run); `;
      rows.push(row({ ...base, measured: largest.heapBytes + largest.nativeBytes, note: `${at}heap ${Math.round(largest.heapBytes)} B + native ${Math.round(largest.nativeBytes)} B; RSS ${Math.round(largest.rssBytes)} B` }));
    }
  }

  // 6. CoAP requests/s with 10k established sessions vs with 16
  {
    const target = { op: '>=' as const, value: 0.9, unit: '×' };
    const s = f.sessions;
    const idle = isSkipped(s) ? 10_000 : s.idleSessions;
    const base = { id: 'sessions-10k', metric: 'CoAP server requests/s with 10k established sessions vs with 16', before: '-', target, basis: `coaps with ${idle.toLocaleString('en-US')} idle + 16 active / 16 active alone` };
    if (isSkipped(s)) rows.push(row({ ...base, measured: null, note: `not measured: ${reasonOf(s, 'part not run')}` }));
    else rows.push(row({ ...base, measured: s.ratio, note: `${Math.round(s.rateWith)}/s vs ${Math.round(s.rateWithout)}/s (medians)${s.idleSessions < 10_000 ? `; only ${s.idleSessions} idle sessions` : ''}` }));
  }

  // 7. client PSK handshake latency p50, sequential
  {
    const target = { op: '<=' as const, value: 0.4, unit: 'ms' };
    const c = f.client;
    const server = isSkipped(c) ? GNUTLS : c.server;
    const base = {
      id: 'client-p50',
      metric: 'client PSK handshake latency p50, sequential, against tinydtls\'s C server on loopback',
      before: '1.05 ms (node-dtls-client 1.38 ms; tinydtls\'s own C client 0.16 ms)',
      target,
      basis: `our client's p50 against ${server} (tinydtls is not packaged here)`,
    };
    if (isSkipped(c)) rows.push(row({ ...base, measured: null, note: `not measured: ${reasonOf(c, 'part not run')}` }));
    else {
      const ours = c.rows.find((r) => r.client === OURS);
      const others = c.rows.filter((r) => r.client !== OURS).map((r) => `${r.client} ${r.p50Ms.toFixed(2)} ms`);
      if (!ours) rows.push(row({ ...base, measured: null, note: 'not measured: our client failed' }));
      else rows.push(row({ ...base, measured: ours.p50Ms, note: others.length ? `same server: ${others.join('; ')}` : '' }));
    }
  }
  return rows;
}
