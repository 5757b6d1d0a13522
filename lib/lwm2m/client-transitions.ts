import { bootstrapAccount, serverAccount } from './client-accounts.js';
import {
  abortBootstrap,
  beginBootstrap,
  bootstrapAnswered,
  bootstrapChannelGone,
  bootstrapInactive,
  bootstrapRequestOf,
  sendBootstrapRequest,
} from './client-bootstrap.js';
import type { ClientContext, ClientPhase } from './client-phases.js';
import { abortRegister, beginRegister, deregister, deregistered, registerAnswered, registeredTimer, registrationLost, sendRegister, updateAnswered } from './client-registration.js';
import type { AgentEvent } from './coap-agent.js';

/**
 * Which phase function takes each input of the client (a channel up or gone, a CoAP result,
 * the phase's timer, stop()): the routing table between the core and the phases of
 * client-bootstrap.ts and client-registration.ts. Each returns the next phase.
 */

/**
 * Where a run goes next: register when the store has a usable server account, else bootstrap;
 * the first attempt of a run waits out the Client Hold Off Time (/0/x/11) first.
 */
export function proceed(cx: ClientContext, now: number, firstAttempt: boolean): ClientPhase {
  if (serverAccount(cx.store)) return beginRegister(cx, now);
  const holdOff = cx.store.get([0, bootstrapAccount(cx.store)?.instanceId ?? 0, 11]);
  if (firstAttempt && typeof holdOff === 'number' && holdOff > 0) return { kind: 'holdoff', until: now + holdOff * 1000 };
  return beginBootstrap(cx, now);
}

/** The channel of the phase's attempt is up: its first request goes out. */
export function onChannelUp(cx: ClientContext, now: number, p: ClientPhase, channel: number): ClientPhase {
  if (p.kind === 'bootstrap' && p.channel === channel) return sendBootstrapRequest(cx, now, p);
  if (p.kind === 'register' && p.channel === channel) return sendRegister(cx, now, p);
  return p;
}

/** A channel is gone (already forgotten): the phase that used it learns it. */
export function onChannelGone(cx: ClientContext, now: number, p: ClientPhase, channel: number, e: Error): ClientPhase {
  if (p.kind === 'bootstrap' && p.channel === channel) return bootstrapChannelGone(cx, now, p, e);
  if (p.kind === 'register' && p.channel === channel) return cx.failAttempt(now, e);
  if (p.kind === 'registered' && p.registration.channel === channel) return registrationLost(cx, now, p, e);
  if (p.kind === 'deregister' && p.channel === channel) return deregistered(cx, now, p, e);
  return p;
}

/** A CoAP result (response or failure): to the phase whose request it answers, else ignored. */
export function onAnswer(cx: ClientContext, now: number, p: ClientPhase, e: AgentEvent): ClientPhase {
  switch (p.kind) {
    case 'bootstrap':
      return e.id === bootstrapRequestOf(p) ? bootstrapAnswered(cx, now, p, e) : p;
    case 'register':
      return p.step.stage === 'sent' && e.id === p.step.request ? registerAnswered(cx, now, p, e) : p;
    case 'registered':
      return p.update.stage === 'sent' && e.id === p.update.request ? updateAnswered(cx, now, p, e) : p;
    case 'deregister':
      return e.id === p.request ? deregistered(cx, now, p, e) : p;
    default:
      return p;
  }
}

/** The phase's timer (client-phases.ts deadlineOf) fired. */
export function onTimer(cx: ClientContext, now: number, p: ClientPhase): ClientPhase {
  switch (p.kind) {
    case 'holdoff':
      return beginBootstrap(cx, now);
    case 'retry':
      return proceed(cx, now, false);
    case 'bootstrap':
      return bootstrapInactive(cx, now, p);
    case 'registered':
      return registeredTimer(cx, now, p);
    default:
      return p;
  }
}

/** stop(): De-register when registered (then 'stopped'), else end what runs and stop at once. */
export function onStop(cx: ClientContext, now: number, p: ClientPhase): ClientPhase {
  switch (p.kind) {
    case 'registered':
      return deregister(cx, now, p);
    case 'deregister':
      return { ...p, then: 'stop' };
    case 'bootstrap':
      abortBootstrap(cx, now, p);
      return cx.stopped(now);
    case 'register':
      abortRegister(cx, now, p);
      return cx.stopped(now);
    default:
      return cx.stopped(now);
  }
}
