import { sql, type Kysely } from 'kysely';

// Which clouds exist is the provider registry's business (services/clouds/src/providers): the API
// accepts a credential only for a registered provider. A CHECK listing them here would make every
// new provider a migration, so it goes; the column stays plain text. Only relaxes a constraint.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table provider_credentials drop constraint if exists provider_credentials_provider_check`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`alter table provider_credentials add constraint provider_credentials_provider_check check (provider in ('aws', 'digitalocean'))`.execute(db);
}
