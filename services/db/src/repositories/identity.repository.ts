import type { Kysely } from 'kysely';
import { runner, type Tx } from '../unit-of-work.js';
import type { ApiTokenRow, Database, UserRow } from '../schema.js';

export class IdentityRepository {
  constructor(private readonly db: Kysely<Database>) {}

  findUserById(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  findUserByEmail(email: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('email', '=', email.toLowerCase()).executeTakeFirst();
  }

  listUsers(): Promise<UserRow[]> {
    return this.db.selectFrom('users').selectAll().orderBy('created_at').execute();
  }

  async insertUser(user: { id: string; email: string; name: string; isAdmin: boolean }, tx?: Tx): Promise<void> {
    await runner(this.db, tx).insertInto('users').values({ id: user.id, email: user.email.toLowerCase(), name: user.name, is_admin: user.isAdmin }).execute();
  }

  async insertToken(token: { id: string; userId: string; name: string; secretHash: string; expiresAt: Date | null }, tx?: Tx): Promise<void> {
    await runner(this.db, tx)
      .insertInto('api_tokens')
      .values({ id: token.id, user_id: token.userId, name: token.name, secret_hash: token.secretHash, expires_at: token.expiresAt })
      .execute();
  }

  findToken(id: string): Promise<ApiTokenRow | undefined> {
    return this.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** A token with what a request's principal needs of its user, in the one round trip every request pays. */
  async findTokenWithUser(id: string): Promise<{ token: ApiTokenRow; user: Pick<UserRow, 'id' | 'email' | 'is_admin'> } | undefined> {
    const found = await this.db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .selectAll('api_tokens')
      .select(['users.email as user_email', 'users.is_admin as user_is_admin'])
      .where('api_tokens.id', '=', id)
      .executeTakeFirst();
    if (!found) return undefined;
    const { user_email: email, user_is_admin: isAdmin, ...token } = found;
    return { token, user: { id: token.user_id, email, is_admin: isAdmin } };
  }

  listTokens(userId: string): Promise<ApiTokenRow[]> {
    return this.db.selectFrom('api_tokens').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
  }

  async revokeToken(id: string, at: Date, tx?: Tx): Promise<void> {
    await runner(this.db, tx).updateTable('api_tokens').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
  }

  async touchToken(id: string, at: Date): Promise<void> {
    await this.db.updateTable('api_tokens').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  async getSetting(key: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    return row?.value;
  }

  /** Reads a setting and holds its row until the transaction ends, so a one-time step runs once across processes. */
  async lockSetting(key: string, tx: Tx): Promise<string | undefined> {
    const row = await runner(this.db, tx).selectFrom('settings').select('value').where('key', '=', key).forUpdate().executeTakeFirst();
    return row?.value;
  }

  async putSetting(key: string, value: string, tx?: Tx): Promise<void> {
    await runner(this.db, tx)
      .insertInto('settings')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }
}
