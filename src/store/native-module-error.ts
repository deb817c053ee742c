import { StoreUnavailableError } from '../core/errors';

/**
 * After a Node upgrade, better-sqlite3's compiled module no longer loads, and Node's message runs over several lines
 * that the open error then blames on the --db path. Told in one line instead, with the fix; any other error is
 * returned as it is.
 */
export function explainNativeModuleError(err: unknown): unknown {
  const message = err instanceof Error ? err.message : '';
  const versions = /NODE_MODULE_VERSION (\d+)[\s\S]*NODE_MODULE_VERSION (\d+)/.exec(message);
  if (!versions && !/ERR_DLOPEN_FAILED|was compiled against a different Node\.js version/.test(`${(err as { code?: string })?.code} ${message}`)) return err;
  const detail = versions ? ` (module version ${versions[1]}, this Node needs ${versions[2]})` : '';
  return new StoreUnavailableError(
    `the SQLite module (better-sqlite3) was built for another Node version${detail}; run: npm rebuild better-sqlite3`,
  );
}
