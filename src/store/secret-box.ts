import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadOrCreateSecret } from './secret-files.js';

const VERSION = 'v1';

/**
 * Encrypts secrets the server must read back (TOTP secrets, which cannot be hashed: the server
 * computes codes from them) with AES-256-GCM under a key kept in the data directory, never in the
 * database: a copy of the database alone holds nothing that makes a code. Each value is bound to
 * a context (the staff id), so a sealed value moved to another row does not open.
 */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('SecretBox: the key must be 32 bytes');
  }

  seal(plain: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), sealed.toString('base64url')].join('.');
  }

  /** The plain text, or undefined when the value was not sealed with this key and context. */
  open(value: string, context: string): string | undefined {
    const [version, iv, tag, sealed] = value.split('.');
    if (version !== VERSION || iv === undefined || tag === undefined || sealed === undefined) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}

/**
 * The key that seals staff TOTP secrets: `<dataDir>/secrets/totp-key` (mode 0600), made on first
 * start. Without a data directory (tests) a fresh key is made in memory.
 */
export function loadOrCreateTotpBox(dataDir: string | undefined): SecretBox {
  const create = () => randomBytes(32).toString('base64');
  const text = dataDir === undefined ? create() : loadOrCreateSecret(join(dataDir, 'secrets', 'totp-key'), create);
  return new SecretBox(Buffer.from(text.trim(), 'base64'));
}
