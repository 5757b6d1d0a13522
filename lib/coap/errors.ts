/** Every CoAP-level failure, typed (DESIGN.md: `CoapError` with a `code`). */
export const CoapErrorCode = {
  /** No ACK after MAX_RETRANSMIT retransmissions, or no response within the wait time. */
  TIMEOUT: 'TIMEOUT',
  /** The peer answered with RST. */
  RESET: 'RESET',
  /** The transport (DTLS session) closed before the exchange ended. */
  CLOSED: 'CLOSED',
  /** A malformed message. */
  FORMAT: 'FORMAT',
  /** Block-wise transfer failed (inconsistent blocks, too large). */
  BLOCKWISE: 'BLOCKWISE',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** The message is larger than the transport carries to this peer (a DTLS session's largest record, a configured UDP size). */
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  /** A local limit was reached: no message ID free for the peer (RFC 7252 §4.4), a full queue. */
  OVERLOADED: 'OVERLOADED',
} as const;
export type CoapErrorCode = (typeof CoapErrorCode)[keyof typeof CoapErrorCode];

export class CoapError extends Error {
  override readonly name = 'CoapError';
  constructor(
    readonly code: CoapErrorCode,
    message: string,
  ) {
    super(message);
  }
}
