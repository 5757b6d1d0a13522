import { utf8 } from '../bytes/util.js';
import { ContentFormat } from '../coap/content-format.js';
import { formatLinks } from '../coap/link-format.js';
import { Code, codeText, encodeUint, getOptions, OptionNumber, type CoapMessage } from '../coap/message.js';
import { DEFAULT_TRANSMISSION } from '../coap/config.js';
import { registrationLinks, serverAccount, type ServerAccountInfo } from './client-accounts.js';
import { DEREGISTER_TIMEOUT_MS, requestTimeoutMs, type Lwm2mClientCoreOptions } from './client-driver.js';
import type { ClientContext, ClientPhase, Deregistering, Registered, Registering, Registration } from './client-phases.js';
import { pathOptions, queryOption, type AgentEvent } from './coap-agent.js';
import { Lwm2mError } from './errors.js';
import { ClientObservations } from './client-observations.js';
import { QueueMode } from './client-queue.js';
import { beginBootstrap } from './client-bootstrap.js';

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
  cx.log(`Register to ${account.uri} (ep=${cx.opts.endpoint}, lt=${account.lifetimeS}, b=${account.binding}${queueMode(cx, account) ? ', Q: queue mode' : ''})`);
  const channel = cx.openChannel(account.uri, account.security);
  return { kind: 'register', channel, account, started: now, step: { stage: 'connecting' } };
}

/** Queue mode: asked for by the application, or by the account's binding (1.0 "UQ"). */
function queueMode(cx: ClientContext, a: ServerAccountInfo): boolean {
  return !!cx.opts.queueMode || a.binding.includes('Q');
}

/** The channel is up: POST /rd?ep=&lt=&lwm2m=1.1&b=[&Q] with the object links. */
export function sendRegister(cx: ClientContext, now: number, p: Registering): Registering {
  if (p.step.stage !== 'connecting') return p;
  const a = p.account;
  const options = [
    ...pathOptions('/rd'),
    { number: OptionNumber.ContentFormat, value: encodeUint(ContentFormat.LinkFormat) },
    queryOption(`ep=${cx.opts.endpoint}`),
    queryOption(`lt=${a.lifetimeS}`),
    queryOption('lwm2m=1.1'),
    queryOption(`b=${a.binding.replace('Q', '') || 'U'}`),
    ...(queueMode(cx, a) ? [queryOption('Q')] : []),
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
  const ssid = a.shortServerId;
  const observations = new ClientObservations({ agent: cx.agent, store: cx.store, attributes: cx.attributes, shortServerId: ssid, defaults: () => defaultPeriods(cx, ssid) });
  // a change of the store marks the observations of that path (and of its parents and children)
  const unsubscribe = cx.store.onChange((path) => {
    if (observations.changed(path)) cx.opts.wake?.();
  });
  const queue = queueMode(cx, a) ? new QueueMode(now, cx.opts.transmission?.maxTransmitWaitMs ?? DEFAULT_TRANSMISSION.maxTransmitWaitMs) : undefined;
  const registration: Registration = { channel: p.channel, uri: a.uri, location, locationPath: pathOptions(location), lifetimeS: a.lifetimeS, shortServerId: ssid, observations, queue, sends: new Set(), unsubscribe };
  cx.succeeded();
  const next: Registered = { kind: 'registered', registration, update: { stage: 'scheduled', at: updateDue(cx.opts, a.lifetimeS, p.step.sentAt) }, trigger: undefined };
  cx.emit({ type: 'registered', location });
  if (queue) cx.log(`queue mode: listening for ${Math.round(queue.quietMs / 1000)} s after each exchange`);
  return next;
}

/** The Default Minimum and Maximum Period of the server's /1 instance (/1/x/2, /1/x/3), seconds. */
function defaultPeriods(cx: ClientContext, ssid: number): { pmin?: number; pmax?: number } {
  for (const i of cx.store.instanceIds(1)) {
    if (cx.store.get([1, i, 0]) !== ssid) continue;
    const pmin = cx.store.get([1, i, 2]);
    const pmax = cx.store.get([1, i, 3]);
    return { ...(typeof pmin === 'number' ? { pmin } : {}), ...(typeof pmax === 'number' && pmax > 0 ? { pmax } : {}) };
  }
  return {};
}

/** The registered phase's timer: the next Update, or the end of a queue-mode client's quiet period. */
export function registeredTimer(cx: ClientContext, now: number, p: Registered): ClientPhase {
  if (p.update.stage === 'scheduled' && p.update.at <= now) return sendUpdate(cx, now, p);
  const q = p.registration.queue;
  if (q && q.timer(now, cx.agent.busy(p.registration.channel), cx.opts.transmission?.ackTimeoutMs ?? DEFAULT_TRANSMISSION.ackTimeoutMs)) {
    cx.log(`queue mode: no exchange for ${Math.round(q.quietMs / 1000)} s: not listening until the next Update or something to send`);
    cx.emit({ type: 'sleeping' });
  }
  return p;
}

/** A queue-mode client that sleeps listens again (for its Update, a notification, a Send). */
export function wake(cx: ClientContext, now: number, r: Registration, why: string): void {
  if (r.queue?.wake(now)) {
    cx.log(`queue mode: awake (${why})`);
    cx.emit({ type: 'awake' });
  }
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
  wake(cx, now, r, 'Registration Update');
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

/**
 * stop() while registered (or the Bootstrap-Request Trigger, `then` 'bootstrap'): the Update
 * (if any) cancelled, De-register (DELETE the location).
 */
export function deregister(cx: ClientContext, now: number, p: Registered, then: Deregistering['then'] = 'stop'): Deregistering {
  const r = p.registration;
  endRegistration(r);
  wake(cx, now, r, 'De-register');
  if (p.update.stage === 'sent') cx.agent.cancel(now, p.update.request);
  const request = cx.agent.request(now, r.channel, { code: Code.DELETE, options: pathOptions(r.location) }, { timeoutMs: DEREGISTER_TIMEOUT_MS });
  return { kind: 'deregister', channel: r.channel, request, location: r.location, then };
}

/** The De-register was answered (or failed, or its channel is gone): stop() completes, or the bootstrap begins. */
export function deregistered(cx: ClientContext, now: number, p: Deregistering, outcome: AgentEvent | Error): ClientPhase {
  if (outcome instanceof Error) cx.log(`De-register failed: ${outcome.message}`);
  else if (outcome.type === 'error') cx.log(`De-register failed: ${outcome.error.message}`);
  else {
    cx.log(`De-register -> ${codeText(outcome.response.code)}`);
    cx.emit({ type: 'deregistered', location: p.location });
  }
  if (p.then === 'bootstrap') {
    cx.closeChannel(now, p.channel);
    return beginBootstrap(cx, now);
  }
  return cx.stopped(now);
}

/** Ends the registration's observations and its subscription to the store. */
function endRegistration(r: Registration): void {
  r.unsubscribe();
  r.observations.clear();
}

function locationOf(res: CoapMessage): string {
  return '/' + getOptions(res, OptionNumber.LocationPath).map((b) => new TextDecoder().decode(b)).join('/');
}

/** After every call while registered: a trigger the server executed, then the notifications that are due. */
export function registeredDuties(cx: ClientContext, now: number, p: Registered): ClientPhase {
  if (p.trigger === 'update') {
    cx.log('Registration Update Trigger: sending an Update');
    return sendUpdate(cx, now, { ...p, trigger: undefined });
  }
  if (p.trigger === 'bootstrap') {
    cx.log('Bootstrap-Request Trigger: de-registering, then bootstrapping');
    return deregister(cx, now, { ...p, trigger: undefined }, 'bootstrap');
  }
  const r = p.registration;
  if (r.observations.due(now)) {
    wake(cx, now, r, 'a notification is due');
    r.observations.run(now);
  }
  return p;
}
