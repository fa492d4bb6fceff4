/** Why a partner may read data (PRODUCT.md §3): every agreement and every grant names purposes from here. */
export const PURPOSES = ['device_experience', 'login', 'messaging', 'contacts_sync', 'calendar_sync'] as const;
export type Purpose = (typeof PURPOSES)[number];

export function isPurpose(value: string): value is Purpose {
  return (PURPOSES as readonly string[]).includes(value);
}
