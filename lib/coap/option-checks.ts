import { optionValueLengthOk } from './codec.js';
import { Code, isCritical, OptionNumber, type CoapOption } from './message.js';

/** Options this implementation understands (anything else critical is rejected). */
const KNOWN_OPTIONS = new Set<number>(Object.values(OptionNumber));

/** What to do with a message's options. */
export type OptionVerdict =
  /** Go on with these options (the same array when nothing was wrong). */
  | { options: CoapOption[]; reject?: undefined }
  /** Refuse the message: a request gets `code` with `diagnostic`; a response is rejected. */
  | { reject: { code: number; diagnostic: string }; options?: undefined };

/**
 * The option rules a message must pass before it reaches the request or response layer:
 * - RFC 7252 §5.4.1: an unrecognized critical option rejects it (a request: 4.02 Bad Option);
 * - §5.4.3: an option whose value length is outside its §5.10 range is treated as unrecognized:
 *   critical, the message is rejected; elective, the option is ignored (removed here);
 * - §5.7.2: a request with Proxy-Uri or Proxy-Scheme asks us to act as a proxy: 5.05 Proxying
 *   Not Supported unless `proxy` (then the application sees them).
 * One pass, no allocation unless an elective option must go.
 */
export function checkOptions(options: CoapOption[], isRequest: boolean, proxy = false): OptionVerdict {
  let drop: Set<CoapOption> | undefined;
  for (let i = 0; i < options.length; i++) {
    const o = options[i]!;
    const n = o.number;
    const known = KNOWN_OPTIONS.has(n);
    if (known && optionValueLengthOk(n, o.value.length)) {
      if (isRequest && !proxy && (n === OptionNumber.ProxyUri || n === OptionNumber.ProxyScheme)) {
        return { reject: { code: Code.ProxyingNotSupported, diagnostic: 'no proxy here' } };
      }
      continue;
    }
    if (isCritical(n)) {
      return { reject: { code: Code.BadOption, diagnostic: known ? `option ${n} of ${o.value.length} bytes` : `unknown critical option ${n}` } };
    }
    if (known) (drop ??= new Set()).add(o); // elective, bad length: ignored (unknown elective ones stay, unseen)
  }
  return { options: drop ? options.filter((o) => !drop.has(o)) : options };
}
