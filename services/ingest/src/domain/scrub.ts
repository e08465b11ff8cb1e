// PII and secret scrubbing, modelled on Sentry's server-side defaults
// (https://docs.sentry.io/security-legal-pii/scrubbing/server-side-scrubbing/): a value is removed
// when its key name contains a sensitive word, when it itself contains one, or when it looks like a
// credit card number; IP addresses are removed too. Configurable per service.

/** Sentry's default sensitive words (matched case-insensitively as substrings of key names and values). */
export const DEFAULT_SENSITIVE_WORDS: readonly string[] = [
  'password',
  'secret',
  'passwd',
  'api_key',
  'apikey',
  'auth',
  'credentials',
  'mysql_pwd',
  'privatekey',
  'private_key',
  'token',
  'bearer',
  // Cookies and session ids carry credentials as well (Sentry's SDK denylists).
  'cookie',
  'session',
  'csrf',
  'xsrf',
];

/** The replacement written in place of a scrubbed value. */
export const FILTERED = '[Filtered]';

/** Per-service scrubbing settings. */
export interface ScrubbingConfig {
  /** Words added to {@link DEFAULT_SENSITIVE_WORDS}. */
  readonly extraSensitiveWords?: readonly string[];
  /** Key names never scrubbed by key name (exact, case-insensitive), e.g. `session_count`. */
  readonly safeKeys?: readonly string[];
  /** Remove IPv4/IPv6 addresses (default true). */
  readonly removeIpAddresses?: boolean;
}

/** A compiled scrubber: pure and reusable. */
export interface Scrubber {
  /** Returns a scrubbed deep copy of any JSON value. `key` is the name it is stored under, if any. */
  value(value: unknown, key?: string): unknown;
  /** Scrubs free text: secrets after sensitive words, URLs' credentials, card numbers, IPs. */
  text(text: string): string;
}

const CARD = /\b\d(?:[ -]?\d){12,18}\b/g;
const IPV4 = /\b(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}\b/g;
// Full form (8 groups) or compressed with `::`; plain `12:30:45` times do not match.
const IPV6 = /(?<![\w:.])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4}::(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{0,4})(?![\w:])/g;
const SCHEME_CREDENTIAL = /\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,}/g;
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/)[^\s/@:]*:[^\s/@]*@/gi;

const CLEAN_TEXTS = 4096;
const CLEAN_TEXT_MAX_LENGTH = 512;

/** Number of ASCII digits in `text`, counting up to `enough`. */
function countDigits(text: string, enough: number): number {
  let n = 0;
  for (let i = 0; i < text.length && n < enough; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

/** Occurrences of `char` in `text`, counting up to `enough`. */
function countChar(text: string, char: string, enough: number): number {
  let n = 0;
  for (let i = text.indexOf(char); i !== -1 && n < enough; i = text.indexOf(char, i + 1)) n++;
  return n;
}

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function escape(word: string): string {
  return word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Compiles a scrubber for one service. Guarantees: key names containing a sensitive word have
 * their whole value replaced by `[Filtered]` (objects included); in strings, the secret after a
 * sensitive word (`password=…`, `Authorization: Bearer …`, `"token": "…"`), URL user:password
 * pairs, Luhn-valid card numbers and (unless disabled) IP addresses are replaced. Depth is capped
 * at 32 levels and anything deeper is filtered, so hostile nesting cannot exhaust the stack.
 */
export function createScrubber(config: ScrubbingConfig = {}): Scrubber {
  const words = [...DEFAULT_SENSITIVE_WORDS, ...(config.extraSensitiveWords ?? [])].map((w) => w.toLowerCase()).filter((w) => w !== '');
  const safe = new Set((config.safeKeys ?? []).map((k) => k.toLowerCase()));
  const removeIps = config.removeIpAddresses ?? true;
  const wordAlternation = words.map(escape).join('|');
  // `password=hunter2`, `token: abc`, `"api_key":"abc"`, `Bearer abc`: keep the word, drop the secret.
  // Also `setTag('api_token', 'value')`: a quoted value right after a quoted sensitive name.
  const inlineSecret = new RegExp(`((?:${wordAlternation})[\\w-]*["'\`]?\\s*(?:[=:]|,(?=\\s*["'\`]))\\s*["'\`]?)(?:bearer\\s+|basic\\s+)?[^\\s"'\`&,;})]+`, 'gi');

  const sensitiveKey = (key: string): boolean => {
    const k = key.toLowerCase();
    if (safe.has(k)) return false;
    return words.some((w) => k.includes(w));
  };

  // Each pattern runs only when the text holds what it needs to match (checked with plain string
  // scans, much cheaper than the patterns): most context lines and messages hold none of it. The
  // word scan is exact for ASCII words only (a case-insensitive pattern may match more forms of
  // other letters), so with a non-ASCII word the pattern always runs.
  const asciiWords = words.every((w) => /^[\x20-\x7e]*$/.test(w));
  const apply = (input: string): string => {
    let out = input;
    const lower = input.toLowerCase();
    if (input.includes('://')) out = out.replace(URL_CREDENTIALS, `$1${FILTERED}@`);
    if (!asciiWords || words.some((w) => lower.includes(w))) out = out.replace(inlineSecret, `$1${FILTERED}`);
    if (lower.includes('bearer') || lower.includes('basic') || lower.includes('token')) out = out.replace(SCHEME_CREDENTIAL, `$1 ${FILTERED}`);
    if (countDigits(out, 13) >= 13) {
      out = out.replace(CARD, (match) => {
        const digits = match.replace(/[ -]/g, '');
        return digits.length >= 13 && digits.length <= 19 && luhn(digits) ? FILTERED : match;
      });
    }
    if (removeIps) {
      if (out.includes('.')) out = out.replace(IPV4, FILTERED);
      if (out.includes('::') || countChar(out, ':', 7) >= 7) out = out.replace(IPV6, FILTERED);
    }
    return out;
  };

  // Source context lines repeat across the occurrences of a bug: short texts found clean are
  // remembered (a bounded set, emptied when full). Texts that held something to scrub are not, so
  // no secret is kept in memory longer than its request.
  const clean = new Set<string>();
  const text = (input: string): string => {
    if (clean.has(input)) return input;
    const out = apply(input);
    if (out === input && input.length <= CLEAN_TEXT_MAX_LENGTH) {
      if (clean.size >= CLEAN_TEXTS) clean.clear();
      clean.add(input);
    }
    return out;
  };

  const value = (input: unknown, key?: string, depth = 0): unknown => {
    if (key !== undefined && sensitiveKey(key)) return input === null || input === undefined || input === '' ? input : FILTERED;
    if (removeIps && key !== undefined && /^(ip|ip_address|ipaddress|remote_addr|x[-_]forwarded[-_]for|x[-_]real[-_]ip|client_ip)$/i.test(key)) {
      return input === null || input === undefined ? input : FILTERED;
    }
    if (typeof input === 'string') return text(input);
    if (input === null || typeof input !== 'object') return input;
    if (depth >= 32) return FILTERED;
    if (Array.isArray(input)) return input.map((item) => value(item, undefined, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(input as Record<string, unknown>)) out[k] = value(v, k, depth + 1);
    return out;
  };

  return { value: (input, key) => value(input, key), text };
}
