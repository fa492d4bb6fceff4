export const APP_CLASSES = ['device_partner', 'third_party'] as const;
export type AppClass = (typeof APP_CLASSES)[number];

export const APP_STATUSES = ['active', 'disabled'] as const;
export type AppStatus = (typeof APP_STATUSES)[number];

export interface App {
  readonly id: string;
  readonly partnerId: string;
  readonly name: string;
  readonly class: AppClass;
  readonly status: AppStatus;
}
