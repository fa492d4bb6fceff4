/**
 * Every refusal the product gives, each with its HTTP status and the code a client sees
 * (PRODUCT.md §4 and §7). Handlers throw these; the one HTTP error handler turns them into
 * `{"error": {"code", "message", "request_id"}}`.
 */
export abstract class DatapactError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  /** Extra, client-safe detail such as the cause of `agreement_not_in_effect`: the body's `cause`. */
  readonly exposedCause?: string;

  /** `options.cause` (ES `cause`) is for the log: never sent to the client. */
  constructor(message: string, exposedCause?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    if (exposedCause !== undefined) this.exposedCause = exposedCause;
  }
}

export class BadRequest extends DatapactError {
  readonly status = 400;
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export class UnknownField extends DatapactError {
  readonly status = 400;
  readonly code = 'unknown_field';
}

export class InvalidCursor extends DatapactError {
  readonly status = 400;
  readonly code = 'invalid_cursor';
  constructor() {
    super('The cursor is malformed or belongs to another list; start again without `after`.');
  }
}

export class InvalidToken extends DatapactError {
  readonly status = 401;
  readonly code = 'invalid_token';
}

/** A privacy-center request without a member session (log in at /privacy/login). */
export class LoginRequired extends DatapactError {
  readonly status = 401;
  readonly code = 'login_required';
}

export class GrantExpired extends DatapactError {
  readonly status = 401;
  readonly code = 'grant_expired';
}

/** A staff login with a wrong email or password (or a disabled account: the same answer). */
export class InvalidCredentials extends DatapactError {
  readonly status = 401;
  readonly code = 'invalid_credentials';
  constructor() {
    super('The email or password is wrong.');
  }
}

/** A staff login whose password was right but whose second factor is missing (`two_factor_required`) or wrong (`invalid_two_factor_code`). */
export class SecondFactorRefused extends DatapactError {
  readonly status = 401;
  readonly code: string;
  constructor(code: 'two_factor_required' | 'invalid_two_factor_code', message: string) {
    super(message);
    this.code = code;
  }
}

/** A staff action that asks for the account's password or a two-factor code again, and got a wrong one. */
export class ReauthenticationFailed extends DatapactError {
  readonly status = 403;
  readonly code: string;
  constructor(code: 'wrong_password' | 'invalid_two_factor_code', message: string) {
    super(message);
    this.code = code;
  }
}

/** A session whose password an admin reset: it may only change the password until it has. */
export class PasswordChangeRequired extends DatapactError {
  readonly status = 403;
  readonly code = 'password_change_required';
  constructor() {
    super('An admin reset this account\'s password: change it first with POST /admin/v1/me/password.');
  }
}

/** A staff member whose roles lack the permission an endpoint or a lifecycle action needs. */
export class Forbidden extends DatapactError {
  readonly status = 403;
  readonly code = 'forbidden';
}

export class AppDisabled extends DatapactError {
  readonly status = 403;
  readonly code = 'app_disabled';
}

export class AgreementNotInEffect extends DatapactError {
  readonly status = 403;
  readonly code = 'agreement_not_in_effect';
}

export class PurposeNotAllowed extends DatapactError {
  readonly status = 403;
  readonly code = 'purpose_not_allowed';
}

export class PlatformDisabled extends DatapactError {
  readonly status = 403;
  readonly code = 'platform_disabled';
}

export class NotConsented extends DatapactError {
  readonly status = 403;
  readonly code = 'not_consented';
}

export class FriendsOfFriendsForbidden extends DatapactError {
  readonly status = 403;
  readonly code = 'friends_of_friends_forbidden';
  constructor() {
    super("A friend list can be read only for the token's own member (/v1/me/friends).");
  }
}

/** A form or state-changing request without the CSRF token that goes with its cookie. */
export class InvalidCsrfToken extends DatapactError {
  readonly status = 403;
  readonly code = 'invalid_csrf_token';
}

export class NotFound extends DatapactError {
  readonly status = 404;
  readonly code = 'not_found';
}

/**
 * A request that reached an https deployment (an https DATAPACT_PUBLIC_URL) without coming through
 * its TLS proxy: no `X-Forwarded-Proto: https`. 421 Misdirected Request (RFC 9110 §15.5.20): this
 * server will not answer authoritatively for the plain-http URL the request was sent to. Not a 403,
 * which a partner's tooling would read as a token or permission problem, and not a 5xx: the server
 * works, the request took the wrong way in (or the proxy in front does not say it terminated TLS).
 */
export class HttpsRequired extends DatapactError {
  readonly status = 421;
  readonly code = 'https_required';
}

export class Conflict extends DatapactError {
  readonly status = 409;
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

/** Too many attempts (logins) in a window; `Retry-After` says when to try again. */
export class RateLimited extends DatapactError {
  readonly status = 429;
  readonly code = 'rate_limited';
}

/** A 503 for a condition that passes: the answer carries `Retry-After: retryAfterSeconds`. */
export abstract class Unavailable extends DatapactError {
  readonly status = 503;
  constructor(message: string, readonly retryAfterSeconds: number, options?: ErrorOptions) {
    super(message, undefined, options);
  }
}

/**
 * The server is at capacity (the audit log's append queue is full): try again after
 * `retryAfterSeconds` rather than wait in a queue that grows without bound (PRODUCT.md §7).
 */
export class Overloaded extends Unavailable {
  readonly code = 'overloaded';
  constructor(message: string, retryAfterSeconds = 1) {
    super(message, retryAfterSeconds);
  }
}

/**
 * The database refused work for a reason outside the request that passes once an operator or time
 * clears it (a full disk, a read-only file or standby, a lock held elsewhere, a server restarting or
 * out of reach). Its ES `cause` is the driver's error, for the log; `fault` names it there (e.g.
 * `SQLITE_FULL`, `53100`, `ECONNREFUSED`). The client learns only that it may try again.
 */
export class DatabaseUnavailable extends Unavailable {
  readonly code = 'database_unavailable';
  constructor(readonly fault: string, retryAfterSeconds: number, cause: unknown) {
    super('The database cannot take this request right now; try again after the time in Retry-After.', retryAfterSeconds, { cause });
  }
}

export interface ErrorBody {
  error: { code: string; message: string; request_id: string; cause?: string };
}

/** The body of every error the server answers (PRODUCT.md §7), whichever layer refused the request. */
export function errorBody(requestId: string, code: string, message: string, cause?: string): ErrorBody {
  return { error: { code, message, request_id: requestId, ...(cause === undefined ? {} : { cause }) } };
}

/** How much of an unknown path a 404 repeats: enough to spot a typo, never kilobytes of someone's URL. */
const ECHOED_PATH_LENGTH = 100;

export function describePath(url: string): string {
  const path = url.split('?')[0] ?? '';
  return path.length <= ECHOED_PATH_LENGTH ? path : `${path.slice(0, ECHOED_PATH_LENGTH)}…`;
}
