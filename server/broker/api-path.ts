/**
 * Which paths the broker sends to the provider's API as a connection: only those every common
 * server reads the same way, so a path names nothing but what it says under the API base.
 * Servers disagree on empty segments (`//`: some merge them), `;` parameters (Tomcat and Jetty
 * drop them: `/..;/` climbs), dot segments however written (decoded twice from `%252e`, overlong
 * UTF-8 `%c0%ae`, compatibility forms such as `．` U+FF0E or `。` U+3002 that a normalizing
 * server turns into dots, trailing spaces IIS trims) and backslashes (IIS reads them as `/`):
 * all refused, before anything is sent.
 */
import { BrokerError } from './errors';

/** RFC 3986 path characters without `;` and `@`, and `%XX` escapes. */
const PATH_CHARACTERS = /^(?:[A-Za-z0-9\-._~!$&'()*+,=:/]|%[0-9A-Fa-f]{2})*$/;
/** A segment, decoded and normalized, that some server reads as `.` or `..` (or as empty). */
const DOTS_OR_SPACES = /^[.\s]+$/;
/** Characters a decoded, normalized segment must not hold: separators, parameters, escapes, controls. */
// Control characters are matched on purpose: they must never reach the provider.
// eslint-disable-next-line no-control-regex
const UNSAFE_DECODED = /[/\\;%?#\x00-\x1f\x7f-\x9f]/;

const invalid = (message: string) => new BrokerError('invalid_request', message);

/** The segment as a normalizing server may read it: decoded as UTF-8 (else undefined), NFKC, ideographic full stops as dots. */
function readAs(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment).normalize('NFKC').replace(/\u3002/g, '.');
  } catch {
    return undefined;
  }
}

/** Throws `invalid_request` unless `path` is one every common server resolves as it is written. */
export function checkApiPath(path: string): void {
  if (!path.startsWith('/') || !PATH_CHARACTERS.test(path)) {
    throw invalid("path must start with / and hold only letters, digits, -._~!$&'()*+,=: and %XX escapes between its slashes (no ;, @, \\, ?, #, spaces or other characters).");
  }
  const segments = path.slice(1).split('/');
  segments.forEach((segment, i) => {
    // One trailing slash is a path of its own at many APIs; an empty segment anywhere else is `//`.
    if (segment === '' && i < segments.length - 1) throw invalid('path must not have an empty segment (//).');
    if (segment === '') return;
    const read = readAs(segment);
    if (read === undefined) throw invalid('path must not have escapes that are not UTF-8 (such as the overlong %c0%ae).');
    if (DOTS_OR_SPACES.test(read)) throw invalid('path must not have a segment of only dots and spaces, however written (.., %2e%2e, ．．, 。。, ..%20).');
    if (UNSAFE_DECODED.test(read)) throw invalid('path must not have /, \\, ;, %, ?, # or a control character escaped or in a compatibility form (such as %2f, %5c, %3b, or %25 of a double encoding).');
  });
}
