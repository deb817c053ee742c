import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StoreUnavailableError } from '../../src/core/errors';
import { explainNativeModuleError } from '../../src/store/native-module-error';

describe('a native SQLite module built for another Node', () => {
  it('is told in one line with the fix, not blamed on the --db path', () => {
    // What the SQLite adapter throws when Node refuses the module (Node 20's own text inside).
    const nodeMessage = "The module '/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 108. This version of Node.js requires\nNODE_MODULE_VERSION 115. Please try re-compiling or re-installing\nthe module (for instance, using `npm rebuild` or `npm install`).";
    const err = explainNativeModuleError(new StoreUnavailableError(`cannot open database /tmp/q.db: ${nodeMessage}; pass a writable file path with --db or QUEUECTL_DB`));
    assert.ok(err instanceof StoreUnavailableError);
    assert.equal(err.message, 'the SQLite module (better-sqlite3) was built for another Node version (module version 108, this Node needs 115); run: npm rebuild better-sqlite3');
    const other = new StoreUnavailableError('cannot open database /x: SQLITE_CANTOPEN');
    assert.equal(explainNativeModuleError(other), other);
  });
});
