import type { AuditRepository } from '../store/audit-repository.js';
import type { AuditEntry } from './audit-entry.js';

/**
 * The one way entries enter the audit log. Callers await `append` before they respond, so no
 * response leaves before its entries are committed. (This first form writes each request's
 * entries in their own transaction; the tamper-evident log will stand behind the same call.)
 */
export class AuditLog {
  constructor(private readonly repository: AuditRepository) {}

  append(entries: readonly AuditEntry[]): Promise<void> {
    return this.repository.append(entries);
  }
}
