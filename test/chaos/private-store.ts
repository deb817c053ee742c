import { PostgresStore } from '../../src/store/postgres/postgres-store';
import type { TempStore } from '../support/temp-store';
import { randomSchema } from '../support/temp-postgres';

/** A PostgresStore in a fresh schema of a throwaway server at `url`; the server goes whole, so cleanup only closes. */
export async function tempPrivatePostgresStore(url: string): Promise<TempStore> {
  const schema = randomSchema();
  const store = await PostgresStore.open(url, { schema });
  return { store, location: url, env: { QUEUECTL_SCHEMA: schema }, cleanup: () => store.close() };
}
