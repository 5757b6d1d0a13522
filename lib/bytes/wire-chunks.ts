/**
 * Buffers for wire bytes (records, datagrams, handshake messages), carved out of shared 4 KiB chunks.
 *
 * In V8 a byte array of more than 64 bytes gets a backing store off the heap, which every
 * young-generation collection must sweep (~0.2 us each, plus ~0.2 us to make): a server doing
 * ten thousand handshakes a second spent about half of each scavenge pause on them, and the
 * pause is what its slowest handshakes wait for. A chunk is one backing store for dozens of
 * records; each record is a view of its own bytes in it. A chunk is never written again once
 * it is full: a view held for long (a queued datagram) keeps its bytes, and the chunk goes
 * when its last view does, as with Node's Buffer pool.
 *
 * Only wire bytes go here: records as sent (protected, or epoch-0 handshake records), records
 * held until their epoch's keys come, and received handshake messages (in the clear but for the
 * Finished, whose verify_data reveals no key). The chunk behind a view (`view.buffer`) also holds
 * other connections' bytes, which are all of these kinds.
 */
const CHUNK_BYTES = 4096;
/** The largest byte array V8 keeps on its heap (its build's V8_TYPED_ARRAY_MAX_SIZE_IN_HEAP). */
export const ON_HEAP_BYTES = 64;
/** Larger buffers get their own. */
const LARGEST = 1024;

let chunk = new Uint8Array(0);
let used = 0;

/** A zeroed buffer of `n` bytes for wire bytes (see above). */
export function wireBuffer(n: number): Uint8Array {
  if (n > LARGEST) return new Uint8Array(n);
  if (used + n > chunk.length) {
    chunk = new Uint8Array(CHUNK_BYTES);
    used = 0;
  }
  const b = chunk.subarray(used, used + n);
  used += n;
  return b;
}
