/** RFC 7252 §4.8 transmission parameters (all configurable). */
export interface TransmissionParameters {
  ackTimeoutMs: number;
  ackRandomFactor: number;
  maxRetransmit: number;
  nstart: number;
  /** How long a message ID stays reserved and a received CON's answer stays cached. */
  exchangeLifetimeMs: number;
  /** The same for NON messages (NON_LIFETIME). */
  nonLifetimeMs: number;
  /** A request not answered this long after its last transmission fails with a timeout. */
  maxTransmitWaitMs: number;
  /** Server: send an empty ACK when a handler has not answered a CON within this delay. */
  emptyAckDelayMs: number;
}

/**
 * RFC 7252 §4.8.2 defaults: ACK_TIMEOUT 2 s, ACK_RANDOM_FACTOR 1.5, MAX_RETRANSMIT 4,
 * NSTART 1, EXCHANGE_LIFETIME 247 s, NON_LIFETIME 145 s, MAX_TRANSMIT_WAIT 93 s.
 */
export const DEFAULT_TRANSMISSION: TransmissionParameters = {
  ackTimeoutMs: 2000,
  ackRandomFactor: 1.5,
  maxRetransmit: 4,
  nstart: 1,
  exchangeLifetimeMs: 247_000,
  nonLifetimeMs: 145_000,
  maxTransmitWaitMs: 93_000,
  emptyAckDelayMs: 1000,
};
