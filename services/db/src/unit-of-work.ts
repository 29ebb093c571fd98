import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

declare const transactionBrand: unique symbol;

/**
 * A transaction in progress. Opaque outside services/db: a service passes it from one repository
 * call to the next, and only repositories run statements in it, so no SQL leaks out of this package.
 */
export interface Tx {
  readonly [transactionBrand]: true;
}

/** The connection a repository statement runs on: the transaction when there is one, else the pool. */
export function runner(db: Kysely<Database>, tx: Tx | undefined): Kysely<Database> {
  return tx ? (tx as unknown as Kysely<Database>) : db;
}

/** Runs several repository calls atomically: all of them commit, or none does. */
export class UnitOfWork {
  constructor(private readonly db: Kysely<Database>) {}

  run<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((trx) => work(trx as unknown as Tx));
  }
}
