import { DecodeError } from '../../bytes/reader.js';

/**
 * RFC 5246 §7.4.9:
 * ```
 * struct {
 *   opaque verify_data[verify_data_length];
 * } Finished;
 * ```
 * verify_data_length is 12 for every cipher suite used here.
 */
export const VERIFY_DATA_LENGTH = 12;

export function decodeFinished(body: Uint8Array): Uint8Array {
  if (body.length !== VERIFY_DATA_LENGTH) throw new DecodeError(`Finished: ${body.length} bytes, expected ${VERIFY_DATA_LENGTH}`);
  return body;
}
