import { fieldsOf, isField, maskOf, type FieldMask } from '../domain/field-catalog.js';
import type { Instant } from '../domain/time.js';

/** Conversions between column values and domain values, shared by every repository. */

export function toIso(instant: Instant): string {
  return new Date(instant).toISOString();
}

export function fromIso(text: string): Instant {
  return Date.parse(text);
}

export function fromIsoOrNull(text: string | null): Instant | null {
  return text === null ? null : Date.parse(text);
}

export function maskToJson(mask: FieldMask): string {
  return JSON.stringify(fieldsOf(mask));
}

/** Field names the catalog no longer knows are dropped rather than trusted. */
export function maskFromJson(text: string): FieldMask {
  const names = JSON.parse(text) as string[];
  return maskOf(names.filter(isField));
}

export function toFlag(value: boolean): number {
  return value ? 1 : 0;
}

/** A member's number (`members.number`) as the driver returns it, or undefined for a row not numbered. */
export function numberOf(value: number | string | null | undefined): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}
