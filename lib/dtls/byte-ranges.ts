/**
 * Adds [start, end) to a sorted list of disjoint ranges, merging what touches or overlaps.
 * Reassembly of fragmented handshake messages (RFC 6347 §4.2.3) tracks what arrived with it.
 */
export function addRange(ranges: Array<[number, number]>, start: number, end: number): void {
  if (start === end) return;
  if (ranges.length === 0) {
    ranges.push([start, end]); // the common case: a message in one fragment
    return;
  }
  let s = start;
  let e = end;
  const out: Array<[number, number]> = [];
  let placed = false;
  for (const [a, b] of ranges) {
    if (b < s) out.push([a, b]);
    else if (a > e) {
      if (!placed) {
        out.push([s, e]);
        placed = true;
      }
      out.push([a, b]);
    } else {
      s = Math.min(s, a);
      e = Math.max(e, b);
    }
  }
  if (!placed) out.push([s, e]);
  ranges.length = 0;
  for (const r of out) ranges.push(r);
}

/** Whether the ranges cover [0, length) exactly. */
export function covers(ranges: ReadonlyArray<readonly [number, number]>, length: number): boolean {
  return length === 0 || (ranges.length === 1 && ranges[0]![0] === 0 && ranges[0]![1] === length);
}
