import { utf8 } from '../bytes/util.js';
import { ContentFormat } from '../coap/content-format.js';
import { formatLinks } from '../coap/link-format.js';
import { Code, codeText, encodeUint, getOptions, OptionNumber, type CoapMessage } from '../coap/message.js';
import { registrationLinks, serverAccount } from './client-accounts.js';
import { DEREGISTER_TIMEOUT_MS, requestTimeoutMs, type Lwm2mClientCoreOptions } from './client-driver.js';
import type { ClientContext, ClientPhase, Deregistering, Registered, Registering, Registration } from './client-phases.js';
import { pathOptions, queryOption, type AgentEvent } from './coap-agent.js';
import { Lwm2mError } from './errors.js';
import { pathToString, type Path } from './types.js';

/**
 * The registration phases of the client (OMA-TS-LightweightM2M-Core §5.3): Register with the
 * store's server account on a new channel, Updates a margin before the lifetime ends, a fresh
 * Register after 4.04 or a failed Update or a lost channel (the registration lives in its DTLS
 * session), De-register on stop(); and, while registered, the observers notified of what the
 * application changed.
 */

/** Starts a Register with the store's server account (4.06 when there is none). */
export function beginRegister(cx: ClientContext, now: number): ClientPhase {
  const account = serverAccount(cx.store);
  if (!account) return cx.failAttempt(now, Lwm2mError.notAcceptable('no LwM2M server account to register with'));
  cx.log(`Register to ${account.uri} (ep=${cx.opts.endpoint}, lt=${account.lifetimeS}, b=${account.binding})`);
  const channel = cx.openChannel(account.uri, account.security);
  return { kind: 'register', channel, account, started: now, step: { stage: 'connecting' } };
}

/** The channel is up: POST /rd?ep=&lt=&lwm2m=1.1&b= with the object links. */
export function sendRegister(cx: ClientContext, now: number, p: Registering): Registering {
  if (p.step.stage !== 'connecting') return p;
  const a = p.account;
  const options = [
    ...pathOptions('/rd'),
    { number: OptionNumber.ContentFormat, value: encodeUint(ContentFormat.LinkFormat) },
    queryOption(`ep=${cx.opts.endpoint}`),
    queryOption(`lt=${a.lifetimeS}`),
    queryOption('lwm2m=1.1'),
    queryOption(`b=${a.binding}`),
  ];
  const payload = utf8(formatLinks(registrationLinks(cx.store, cx.pct)));
  const request = cx.agent.request(now, p.channel, { code: Code.POST, options, payload }, { timeoutMs: requestTimeoutMs(cx.opts) });
  return { ...p, step: { stage: 'sent', request, sentAt: now } };
}

/** stop() while registering: the Register (if sent) cancelled, the channel closed. */
export function abortRegister(cx: ClientContext, now: number, p: Registering): void {
  if (p.step.stage === 'sent') cx.agent.cancel(now, p.step.request);
  cx.closeChannel(now, p.channel);
}

/** The answer to the Register: 2.01 with the location registers; anything else fails the attempt. */
export function registerAnswered(cx: ClientContext, now: number, p: Registering, e: AgentEvent): ClientPhase {
  if (p.step.stage !== 'sent') return p;
  if (e.type === 'error') {
    cx.closeChannel(now, p.channel);
    return cx.failAttempt(now, e.error);
  }
  const res = e.response;
  if (res.code !== Code.Created) {
    cx.closeChannel(now, p.channel);
    return cx.failAttempt(now, new Lwm2mError(res.code, `Register answered ${codeText(res.code)}`));
  }
  const location = locationOf(res);
  cx.log(`Register -> ${codeText(res.code)} Location ${location} in ${Math.round(now - p.started)} ms`);
  const a = p.account;
  // observations: a changed value notifies its path and its parents
  const changed = new Set<string>();
  const unsubscribe = cx.store.onChange((path) => noteChange(cx, changed, path));
  const registration: Registration = { channel: p.channel, uri: a.uri, location, locationPath: pathOptions(location), lifetimeS: a.lifetimeS, shortServerId: a.shortServerId, changed, unsubscribe };
  cx.succeeded();
  const next: Registered = { kind: 'registered', registration, update: { stage: 'scheduled', at: updateDue(cx.opts, a.lifetimeS, p.step.sentAt) } };
  cx.emit({ type: 'registered', location });
  return next;
}

/**
 * When the next Update is due: a margin before the lifetime ends, counted from when the last
 * Register or Update was sent (the server's lifetime starts later, when it receives it).
 */
function updateDue(o: Lwm2mClientCoreOptions, lifetimeS: number, sentAt: number): number {
  const lifetimeMs = lifetimeS * 1000;
  const margin = o.updateMarginMs?.(lifetimeMs) ?? Math.max(2000, lifetimeMs * 0.1);
  return sentAt + Math.max(500, lifetimeMs - margin);
}

/** Sends the Update (POST to the location), unless one is in flight. */
export function sendUpdate(cx: ClientContext, now: number, p: Registered): Registered {
  if (p.update.stage === 'sent') return p;
  const r = p.registration;
  const request = cx.agent.request(now, r.channel, { code: Code.POST, options: r.locationPath }, { timeoutMs: requestTimeoutMs(cx.opts) });
  return { ...p, update: { stage: 'sent', request, sentAt: now } };
}

/** The answer to an Update: 2.04 schedules the next; 4.04 or a failure means a fresh Register on a new channel (§5.3.2). */
export function updateAnswered(cx: ClientContext, now: number, p: Registered, e: AgentEvent): ClientPhase {
  if (p.update.stage !== 'sent') return p;
  const r = p.registration;
  if (e.type !== 'error') {
    cx.log(`Update -> ${codeText(e.response.code)}`);
    if (e.response.code === Code.Changed) {
      const next: Registered = { ...p, update: { stage: 'scheduled', at: updateDue(cx.opts, r.lifetimeS, p.update.sentAt) } };
      cx.emit({ type: 'updated', location: r.location });
      return next;
    }
    if (e.response.code !== Code.NotFound) cx.log(`Update failed (Update answered ${codeText(e.response.code)}): registering again`);
  } else cx.log(`Update failed (${e.error.message}): registering again`);
  endRegistration(r);
  cx.closeChannel(now, r.channel);
  return beginRegister(cx, now);
}

/** The registration's channel is gone: the registration lived in that DTLS session, register afresh. */
export function registrationLost(cx: ClientContext, now: number, p: Registered, e: Error): ClientPhase {
  cx.log(`the session to ${p.registration.uri} was lost (${e.message}): registering again`);
  endRegistration(p.registration);
  return beginRegister(cx, now);
}

/** stop() while registered: the Update (if any) cancelled, De-register (DELETE the location). */
export function deregister(cx: ClientContext, now: number, p: Registered): Deregistering {
  const r = p.registration;
  endRegistration(r);
  if (p.update.stage === 'sent') cx.agent.cancel(now, p.update.request);
  const request = cx.agent.request(now, r.channel, { code: Code.DELETE, options: pathOptions(r.location) }, { timeoutMs: DEREGISTER_TIMEOUT_MS });
  return { kind: 'deregister', channel: r.channel, request, location: r.location };
}

/** The De-register was answered (or failed, or its channel is gone): stop() completes. */
export function deregistered(cx: ClientContext, now: number, p: Deregistering, outcome: AgentEvent | Error): ClientPhase {
  if (outcome instanceof Error) cx.log(`De-register failed: ${outcome.message}`);
  else if (outcome.type === 'error') cx.log(`De-register failed: ${outcome.error.message}`);
  else {
    cx.log(`De-register -> ${codeText(outcome.response.code)}`);
    cx.emit({ type: 'deregistered', location: p.location });
  }
  return cx.stopped(now);
}

/** Ends the registration's observation of the store. */
function endRegistration(r: Registration): void {
  r.unsubscribe();
  r.changed.clear();
}

/** A changed value notifies its path and its parents; the first change since the last notifications wakes the driver. */
function noteChange(cx: ClientContext, changed: Set<string>, p: Path): void {
  const first = changed.size === 0;
  for (let n = p.length; n >= 1; n--) changed.add(pathToString(p.slice(0, n)));
  if (first) cx.opts.wake?.();
}

/** Notifies the observers of every changed path (the agent re-reads and sends what they observe). */
export function flushNotifications(cx: ClientContext, now: number, p: Registered): void {
  const changed = p.registration.changed;
  if (changed.size === 0) return;
  const paths = [...changed];
  changed.clear();
  for (const path of paths) cx.agent.notify(now, path);
}

function locationOf(res: CoapMessage): string {
  return '/' + getOptions(res, OptionNumber.LocationPath).map((b) => new TextDecoder().decode(b)).join('/');
}
