import type { IncomingRequest } from '../coap/api-types.js';
import { Code, codeText } from '../coap/message.js';
import { bootstrapAccount, validateConfiguration } from './client-accounts.js';
import { bootstrapInactivityMs, requestTimeoutMs } from './client-driver.js';
import type { Bootstrapping, BootstrapStep, ClientContext, ClientPhase } from './client-phases.js';
import { serveBootstrapRequest, type BootstrapSession } from './client-requests.js';
import { pathOptions, queryOption, type AgentEvent, type CoapAnswer } from './coap-agent.js';
import { Lwm2mError } from './errors.js';
import type { ClientState } from './storage.js';

/**
 * The bootstrap phase of the client (OMA-TS-LightweightM2M-Core §5.2.7.2, client-initiated):
 * the Bootstrap-Request (POST /bs?ep=&pct=) on a channel to the bootstrap account, the server's
 * commands served (client-requests.ts) with an inactivity timeout, Bootstrap-Finish validated
 * or refused with 4.06, then the new configuration persisted before it is used. A failed
 * attempt changes nothing: the Security and Server objects return to what they were.
 */

/** Starts an attempt with the store's bootstrap account (4.06 when there is none). */
export function beginBootstrap(cx: ClientContext, now: number): ClientPhase {
  const account = bootstrapAccount(cx.store);
  if (!account) return cx.failAttempt(now, new Lwm2mError(Code.NotAcceptable, 'no bootstrap server account'));
  cx.log(`Bootstrap-Request to ${account.uri} (ep=${cx.opts.endpoint}, pct=${cx.pct})`);
  const channel = cx.openChannel(account.uri, account.security);
  return { kind: 'bootstrap', channel, account, before: cx.store.snapshot([0, 1]), started: now, step: { stage: 'connecting', inactiveAt: now + bootstrapInactivityMs(cx.opts) } };
}

/** The channel is up: the Bootstrap-Request. */
export function sendBootstrapRequest(cx: ClientContext, now: number, p: Bootstrapping): Bootstrapping {
  if (p.step.stage !== 'connecting') return p;
  const options = [...pathOptions('/bs'), queryOption(`ep=${cx.opts.endpoint}`), queryOption(`pct=${cx.pct}`)];
  const request = cx.agent.request(now, p.channel, { code: Code.POST, options }, { timeoutMs: requestTimeoutMs(cx.opts) });
  return { ...p, step: { stage: 'commands', request, inactiveAt: p.step.inactiveAt } };
}

/** The Bootstrap-Request in flight, if any. */
export function bootstrapRequestOf(p: Bootstrapping): number | undefined {
  return p.step.stage === 'commands' || p.step.stage === 'finished' ? p.step.request : undefined;
}

/** The answer to the Bootstrap-Request: anything but 2.04 (or no answer) fails the attempt, unless Finish was accepted already. */
export function bootstrapAnswered(cx: ClientContext, now: number, p: Bootstrapping, e: AgentEvent): ClientPhase {
  const step = p.step;
  if (step.stage !== 'commands' && step.stage !== 'finished') return p;
  const next: Bootstrapping = { ...p, step: { ...step, request: undefined } };
  const accepted = step.stage === 'finished' && step.verdict === 'accepted';
  if (e.type === 'error') return accepted ? next : failBootstrap(cx, now, next, e.error);
  cx.log(`Bootstrap-Request -> ${codeText(e.response.code)}`);
  if (e.response.code !== Code.Changed && !accepted) return failBootstrap(cx, now, next, new Lwm2mError(e.response.code, `bootstrap server answered ${codeText(e.response.code)}`));
  return next;
}

/** Whether the bootstrap server's requests on `channel` are served as bootstrap commands now. */
export function takesCommands(p: Bootstrapping, channel: number): boolean {
  return p.channel === channel && (p.step.stage === 'connecting' || p.step.stage === 'commands');
}

/**
 * Serves one bootstrap command: each re-arms the inactivity timer; Bootstrap-Finish validates
 * the configuration (refused with 4.06 and the reason, and the attempt fails once that answer
 * is out).
 */
export function serveBootstrapCommand(cx: ClientContext, now: number, p: Bootstrapping, req: IncomingRequest): { answer: CoapAnswer; next: Bootstrapping } {
  let step: BootstrapStep = p.step;
  const finished = (verdict: 'accepted' | Error): BootstrapStep => ({ stage: 'finished', request: step.stage === 'commands' ? step.request : undefined, verdict });
  const session: BootstrapSession = {
    isBootstrapAccount: (o, i) => o === 0 && i === p.account.instanceId,
    activity: () => {
      if (step.stage === 'connecting' || step.stage === 'commands') step = { ...step, inactiveAt: now + bootstrapInactivityMs(cx.opts) };
    },
    finish: () => {
      try {
        validateConfiguration(cx.store, cx.opts.crypto);
        step = finished('accepted');
      } catch (e) {
        step = finished(e as Error); // answered 4.06; this attempt has failed (the previous configuration returns)
        throw e;
      }
    },
  };
  const answer = serveBootstrapRequest(cx.store, req, session);
  return { answer, next: { ...p, step } };
}

/** Bootstrap-Finish was answered: go on (persist, then register), or fail (4.06 was sent). */
export function afterFinish(cx: ClientContext, now: number, p: Bootstrapping): ClientPhase {
  const step = p.step;
  if (step.stage !== 'finished') return p;
  if (step.verdict instanceof Error) return failBootstrap(cx, now, p, step.verdict);
  cx.log(`Bootstrap-Finish accepted after ${Math.round(now - p.started)} ms`);
  if (step.request !== undefined) cx.agent.cancel(now, step.request);
  cx.closeChannel(now, p.channel);
  if (!cx.opts.persist) return cx.bootstrapped(now);
  const state: ClientState = { version: 1, endpoint: cx.opts.endpoint, objects: cx.store.snapshot([0, 1]) };
  if (cx.opts.wallClock) state.savedAt = new Date(cx.opts.wallClock()).toISOString();
  cx.emit({ type: 'persist' });
  return { ...p, step: { stage: 'saving', state } };
}

/** The driver wrote the bootstrapped configuration (or failed to: the attempt fails, 5.00). */
export function bootstrapPersisted(cx: ClientContext, now: number, p: Bootstrapping, error: string | undefined): ClientPhase {
  if (p.step.stage !== 'saving') return p;
  if (error) return failBootstrap(cx, now, p, new Lwm2mError(Code.InternalServerError, `persisting the bootstrapped configuration failed: ${error}`));
  return cx.bootstrapped(now);
}

/** The inactivity timer fired: no command for that long (5.03). */
export function bootstrapInactive(cx: ClientContext, now: number, p: Bootstrapping): ClientPhase {
  if (p.step.stage !== 'connecting' && p.step.stage !== 'commands') return p;
  return failBootstrap(cx, now, p, new Lwm2mError(Code.ServiceUnavailable, `no bootstrap command for ${bootstrapInactivityMs(cx.opts)} ms`));
}

/**
 * The bootstrap channel is gone. Before an accepted Finish the attempt fails; after it the
 * bootstrap server may close as it likes.
 */
export function bootstrapChannelGone(cx: ClientContext, now: number, p: Bootstrapping, e: Error): ClientPhase {
  if (p.step.stage === 'saving' || (p.step.stage === 'finished' && p.step.verdict === 'accepted')) return p;
  return failBootstrap(cx, now, p, e);
}

/** A failed bootstrap changes nothing (OMA-TS Core): the previous configuration returns. */
export function failBootstrap(cx: ClientContext, now: number, p: Bootstrapping, e: Error): ClientPhase {
  abortBootstrap(cx, now, p);
  return cx.failAttempt(now, e);
}

/** Ends the attempt (stop(), a failure): the configuration from before it, the request cancelled, the channel closed. */
export function abortBootstrap(cx: ClientContext, now: number, p: Bootstrapping): void {
  cx.store.restore(p.before);
  const request = bootstrapRequestOf(p);
  if (request !== undefined) cx.agent.cancel(now, request);
  cx.closeChannel(now, p.channel);
}
