/**
 * Refresh tokens are sealed before they go into the Secret Store: the user scope is writable by
 * the Dashboard user too, and a refresh token the backend did not write must never be redeemed
 * with the app's client secret. AES-256-GCM, with the connection and the secret name as
 * associated data, so a sealed payload opens only where it was written. Keys come from
 * TOKEN_SEALING_KEYS (`id:base64` entries, comma-separated): the first seals, all open, so a
 * new key goes first and an old one is removed once nothing sealed with it is left.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { type ConnectionId } from '../../src/common/connection-id';

export interface SealingKey {
  id: string;
  key: Buffer;
}

const PREFIX = 'sealed.v1.';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/** Parses TOKEN_SEALING_KEYS; the message says what is wrong, never a key. */
export function parseSealingKeys(text: string): SealingKey[] {
  const keys = text.split(',').map((entry) => entry.trim()).filter(Boolean).map((entry) => {
    const colon = entry.indexOf(':');
    const id = entry.slice(0, colon);
    const material = entry.slice(colon + 1);
    if (colon < 1 || !KEY_ID.test(id)) throw new Error('each entry must be id:base64 with an id of letters, digits, _ or -');
    const key = BASE64.test(material) ? Buffer.from(material, 'base64') : Buffer.alloc(0);
    if (key.length !== 32) throw new Error(`key ${id} must be 32 bytes, base64-encoded`);
    return { id, key };
  });
  if (keys.length === 0) throw new Error('no key given');
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new Error('key ids must be unique');
  return keys;
}

/** A new entry for TOKEN_SEALING_KEYS. */
export const newSealingKey = (id: string) => `${id}:${randomBytes(32).toString('base64')}`;

export class UnsealError extends Error {}

/**
 * A well-formed payload sealed with a key this instance does not hold (a rotation half rolled
 * out, a key left out of TOKEN_SEALING_KEYS): not known to be altered, only not openable here.
 */
export class KeyNotHereError extends UnsealError {
  constructor(readonly keyId: string) {
    super('sealed with a key this instance does not hold');
  }
}

/** What a record's `sealedWith` says of a refresh secret stored unsealed (never a key id: those have no parentheses). */
export const UNSEALED = '(unsealed)';

const associatedData = (c: ConnectionId, secretName: string) => Buffer.from(JSON.stringify([c.mode, c.accountId, c.userId, secretName]));

export class TokenSealer {
  private readonly byId: Map<string, Buffer>;

  constructor(private readonly keys: SealingKey[]) {
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  static isSealed(text: string): boolean {
    return text.startsWith(PREFIX);
  }

  /** Whether this instance holds the key `id` (a key id, not `UNSEALED` or unknown). */
  holds(id: string): boolean {
    return this.byId.has(id);
  }

  /** The key new payloads are sealed with (the first of TOKEN_SEALING_KEYS). */
  get currentKeyId(): string {
    return this.keys[0].id;
  }

  /** The id of the key a sealed payload was sealed with (undefined: not a sealed payload). */
  static keyIdOf(text: string): string | undefined {
    return TokenSealer.isSealed(text) ? text.slice(PREFIX.length).split('.')[0] : undefined;
  }

  seal(plaintext: string, connection: ConnectionId, secretName: string): string {
    const { id, key } = this.keys[0];
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES }).setAAD(associatedData(connection, secretName));
    const sealed = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${PREFIX}${id}.${iv.toString('base64url')}.${sealed.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
  }

  /**
   * The plaintext; KeyNotHereError for a well-formed payload of a key not held here; else
   * UnsealError for another connection or secret, or any change. Only the 12-byte IV and the
   * full 16-byte tag this class writes: GCM would otherwise accept a tag cut to 4 bytes, which a
   * forger can guess.
   */
  open(text: string, connection: ConnectionId, secretName: string): string {
    const [id, ivText, sealed, tagText] = text.slice(PREFIX.length).split('.');
    if (!TokenSealer.isSealed(text) || !KEY_ID.test(id) || !ivText || !sealed || !tagText) throw new UnsealError('not a sealed payload');
    const iv = Buffer.from(ivText, 'base64url');
    const tag = Buffer.from(tagText, 'base64url');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new UnsealError('not a sealed payload of this format');
    const key = this.byId.get(id);
    if (!key) throw new KeyNotHereError(id);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES }).setAAD(associatedData(connection, secretName));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      throw new UnsealError('the sealed payload does not open here');
    }
  }
}
