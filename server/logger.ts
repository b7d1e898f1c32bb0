/**
 * Structured logs with pino. Callers log identifiers and outcomes only — never request bodies,
 * headers, tokens, codes or verifiers — and the redact list is a second line of defence.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

const REDACTED_FIELDS = [
  '*.access_token', '*.refresh_token', '*.code', '*.code_verifier', '*.verifier', '*.client_secret',
  '*.authorization', '*.payload', 'req.headers', 'req.body',
];

export function createLogger(level = 'info', destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: REDACTED_FIELDS, censor: '[redacted]' }, base: undefined };
  return destination ? pino(options, destination) : pino(options);
}
