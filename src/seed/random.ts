import { hash } from 'node:crypto';

/**
 * Deterministic randomness for the demo world. Every stream is keyed by the world's seed and a
 * label (e.g. `edges` and a member's index), so one member's data never depends on how many
 * members came before it or on the order work was done in.
 */

/** A 32-bit-word PRNG (sfc32): fast, small state, good enough for synthetic data. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(words: readonly [number, number, number, number]) {
    [this.a, this.b, this.c, this.d] = words;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A stream keyed by the SHA-256 of its parts. */
  static of(...parts: ReadonlyArray<string | number>): Prng {
    const digest = sha256(parts);
    return new Prng([digest.readUInt32BE(0), digest.readUInt32BE(4), digest.readUInt32BE(8), digest.readUInt32BE(12)]);
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}

/** One-shot `crypto.hash`: a seed hashes millions of short keys, and a Hash object per key costs 3x more. */
export function sha256(parts: ReadonlyArray<string | number>): Buffer {
  return hash('sha256', parts.join(':'), 'buffer');
}
