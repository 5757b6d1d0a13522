/**
 * RFC 5246 §7.1:
 * ```
 * struct {
 *   enum { change_cipher_spec(1), (255) } type;
 * } ChangeCipherSpec;
 * ```
 */
export const CHANGE_CIPHER_SPEC = new Uint8Array([1]);

export function isChangeCipherSpec(body: Uint8Array): boolean {
  return body.length === 1 && body[0] === 1;
}
