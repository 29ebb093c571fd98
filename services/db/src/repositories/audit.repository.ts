import type { Kysely } from 'kysely';
import { runner, type Tx } from '../unit-of-work.js';
import type { AuditRow, Database } from '../schema.js';

export interface AuditEntry {
  actorUserId: string | null;
  actorTokenId: string | null;
  projectId: string | null;
  action: string;
  resourceType: string;
  resourceId: string | null;
  sourceIp: string | null;
  userAgent: string | null;
  details?: Record<string, unknown>;
}

export class AuditRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async append(entry: AuditEntry, tx?: Tx): Promise<void> {
    await runner(this.db, tx)
      .insertInto('audit_log')
      .values({
        actor_user_id: entry.actorUserId,
        actor_token_id: entry.actorTokenId,
        project_id: entry.projectId,
        action: entry.action,
        resource_type: entry.resourceType,
        resource_id: entry.resourceId,
        source_ip: entry.sourceIp,
        user_agent: entry.userAgent ? entry.userAgent.slice(0, 300) : null,
        details: JSON.stringify(entry.details ?? {}),
      })
      .execute();
  }

  list(filter: { projectId?: string; beforeId?: number; limit: number }): Promise<AuditRow[]> {
    let query = this.db.selectFrom('audit_log').selectAll();
    if (filter.projectId) query = query.where('project_id', '=', filter.projectId);
    if (filter.beforeId) query = query.where('id', '<', filter.beforeId);
    return query.orderBy('id', 'desc').limit(filter.limit).execute();
  }
}
