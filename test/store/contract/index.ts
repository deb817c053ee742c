import { describe } from 'node:test';
import { claimContract } from './claim';
import { configContract } from './config';
import { dependenciesContract } from './dependencies';
import { enqueueContract } from './enqueue';
import { finishContract } from './finish';
import { leasesContract } from './leases';
import { operatorContract } from './operator';
import { outputContract } from './output';
import { queuesContract } from './queues';
import { schedulesContract } from './schedules';
import { contractIt, type MakeStore } from './store-under-test';
import { wakeupsContract } from './wakeups';
import { workersContract } from './workers';

export type { MakeStore };

/**
 * The conformance suite every Store adapter passes, one area per file. It uses the Store interface only. Each test
 * gets a fresh store from `makeStore`; with `manualClock` the store runs on a manual clock that a test moves to let
 * a delay, a backoff or a lease pass at once (SQLite). Without it (PostgreSQL keeps time in the database) the few
 * tests that let time pass wait, with a deadline, for the store's own clock to move on by a few milliseconds.
 */
export function runStoreContract(name: string, makeStore: MakeStore, options: { skip?: string | false; manualClock?: boolean } = {}): void {
  describe(`Store contract: ${name}`, { skip: options.skip ?? false }, () => {
    const it = contractIt(makeStore, { manualClock: options.manualClock ?? false });
    enqueueContract(it);
    claimContract(it);
    finishContract(it);
    dependenciesContract(it);
    outputContract(it);
    workersContract(it);
    leasesContract(it);
    operatorContract(it);
    queuesContract(it);
    configContract(it);
    wakeupsContract(it);
    schedulesContract(it);
  });
}
