/**
 * What a fuzz target is: seeds, optional structure-aware generation and mutation, and run(),
 * which feeds one input to the code under test and applies the target's oracle.
 */
import type { MutationContext } from './mutate.js';
import type { Rng } from './rng.js';

export interface FuzzTarget {
  readonly name: string;
  /** One line for --help. */
  readonly about: string;
  /** Largest input the engine makes. */
  readonly maxLength: number;
  /** The initial corpus: fixture-derived inputs and built-in ones (never empty). */
  seeds(): Uint8Array[];
  /** Tokens of the format for the dictionary mutation. */
  readonly dictionary?: readonly Uint8Array[];
  /** A structure-aware generator (fast-check or hand-made): a fresh, mostly valid input. */
  generate?(rng: Rng): Uint8Array;
  /** A structure-aware mutation of a corpus entry; undefined lets the byte mutations run instead. */
  mutate?(input: Uint8Array, rng: Rng, ctx: MutationContext): Uint8Array | undefined;
  /**
   * Stateful targets: builds a fresh world, deterministically from `seed` (a server with an
   * established session, say). Called before the first input and every `resetEvery` inputs.
   */
  reset?(seed: number): void;
  readonly resetEvery?: number;
  /**
   * Runs one input. Returns coverage features (cheap strings: an outcome class, the states
   * reached); an input that produces a feature never seen before joins the corpus. Throws
   * {@link Violation} when an oracle fails; any other exception escaping is a crash.
   */
  run(input: Uint8Array): string | readonly string[] | void;
  /** Stateful targets: the end-of-world oracle (a legitimate peer is still served), before a reset. */
  check?(): void;
}

/** An oracle failure that is not an exception of the code under test (a round trip that differs, a peer no longer served). */
export class Violation extends Error {
  override readonly name = 'Violation';
  constructor(
    readonly kind: string,
    readonly detail: string,
  ) {
    super(`${kind}: ${detail}`);
  }
}

/** Throws a Violation unless `ok`. */
export function expectThat(ok: boolean, kind: string, message: () => string): void {
  if (!ok) throw new Violation(kind, message());
}

/**
 * The class of an error message for coverage features and finding keys: its plain words only
 * (lowercase letters, at least two), so the numbers, paths and echoed input bytes that messages carry do
 * not make every rejected input look new: "length 7 outside 0..5" and "length 9 outside 0..5"
 * are one class, and so are "value \"abc\" is not a valid integer" and its variants.
 */
export function messageClass(message: string): string {
  let out = '';
  let words = 0;
  for (const w of message.slice(0, 300).split(/\s+/)) {
    if (w.length >= 2 && /^[a-z_-]+[:,.;]?$/.test(w)) {
      out += (words++ ? ' ' : '') + w;
      if (words >= 8) break;
    }
  }
  return out;
}

/** The feature of a caught, allowed error: its type and message class. */
export function errorFeature(e: Error): string {
  return `${e.name}:${messageClass(e.message)}`;
}
