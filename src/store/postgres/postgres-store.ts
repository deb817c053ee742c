import { StoreUnavailableError } from '../../core/errors';
import type { OpenStoreOptions } from '../open-store';
import type { Store } from '../store';

/** Placeholder until the PostgreSQL adapter lands. */
export class PostgresStore {
  static async open(_url: string, _options: OpenStoreOptions): Promise<Store> {
    throw new StoreUnavailableError('the PostgreSQL store is not built yet');
  }
}
