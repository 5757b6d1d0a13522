/**
 * Adds [start, end) to a sorted list of disjoint ranges, merging what touches or overlaps.
 * Reassembly of fragmented handshake messages (RFC 6347 §4.2.3) tracks what arrived with it.
 */
export function addRange(ranges: Array<[number, number]>, start: number, end: number): void {
  if (start === end) return;
  let i = 0;
  while (i < ranges.length && ranges[i]![1] < start) i++; // wholly before, not touching
  let j = i;
  for (; j < ranges.length && ranges[j]![0] <= end; j++) {
    // overlapping or touching: merged into the new range
    if (ranges[j]![0] < start) start = ranges[j]![0];
    if (ranges[j]![1] > end) end = ranges[j]![1];
  }
  ranges.splice(i, j - i, [start, end]);
}

/** Whether the ranges cover [0, length) exactly. */
export function covers(ranges: ReadonlyArray<readonly [number, number]>, length: number): boolean {
  return length === 0 || (ranges.length === 1 && ranges[0]![0] === 0 && ranges[0]![1] === length);
}
