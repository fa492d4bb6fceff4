import createClient from 'openapi-fetch';
import type { components, paths } from './schema';

/**
 * The admin API, typed from the server's own OpenAPI document (schema.d.ts, made by
 * scripts/openapi.ts). The session is the HttpOnly cookie of POST /admin/v1/session: this code
 * never sees it. Every change carries the session's CSRF token; a 401 tells the session to ask
 * for a sign-in again (the page stays as it was, so nothing typed is lost).
 */

export type Schemas = components['schemas'];

let csrfToken: string | undefined;
let onSessionLost: (() => void) | undefined;

export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

export function whenSessionLost(listener: () => void): void {
  onSessionLost = listener;
}

/** Requests whose 401 means "wrong password", not "the session is gone". */
const SIGN_IN_PATHS = ['/admin/v1/session'];

export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: 'same-origin' });

api.use({
  onRequest({ request }) {
    if (request.method !== 'GET' && request.method !== 'HEAD' && csrfToken) request.headers.set('x-csrf-token', csrfToken);
    return request;
  },
  onResponse({ request, response }) {
    if (response.status === 401 && !SIGN_IN_PATHS.some((path) => new URL(request.url).pathname === path)) onSessionLost?.();
    return response;
  },
});

/** A refusal of the API, with its code and message as the server gave them. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The answer's data, or its error thrown as an ApiError. */
export async function ok<T>(pending: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await pending;
  if (error !== undefined || !response.ok) {
    const body = (error ?? {}) as { error?: { code?: string; message?: string } };
    throw new ApiError(response.status, body.error?.code ?? 'http_error', body.error?.message ?? `The server answered ${response.status}.`);
  }
  return data as T;
}
