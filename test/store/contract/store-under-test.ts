import { it as nodeIt } from 'node:test';
import { ManualClock, type Clock } from '../../../src/core/clock';
import { openStore } from '../../../src/store/open-store';
import type { Store } from '../../../src/store/store';
import type { TempStore } from '../../support/temp-store';

/** Makes a fresh store for one test; an adapter that keeps time itself (PostgreSQL) ignores `clock`. */
export type MakeStore = (options: { clock?: Clock }) => Promise<TempStore>;

/** What one contract test gets: the store, a way to let time pass, and further connections to the same store. */
export interface StoreUnderTest {
  store: Store;
  /**
   * Lets `ms` of store time pass. With a manual clock it moves the clock, exactly and at once; where the adapter
   * keeps time itself (PostgreSQL's database clock) it waits, with a deadline, until the store's own now() has moved
   * on by `ms`: only ever a few milliseconds in this suite.
   */
  elapse: (ms: number) => Promise<void>;
  /** Whether `elapse` is exact (a manual clock), so that timings may be checked to the millisecond. */
  manualClock: boolean;
  /** Another connection (its own handle, pool or file descriptor) to the same store, closed after the test. */
  connect: () => Promise<Store>;
}

/** How a contract area declares a test: like node:test's `it`, with the store under test handed to the body. */
export type ContractIt = (name: string, body: (subject: StoreUnderTest) => Promise<void>) => void;

/**
 * Gives each test of the suite a fresh store from `makeStore`, on a manual clock when `manualClock` is set (the
 * adapter must honour it), and closes whatever the test opened afterwards.
 */
export function contractIt(makeStore: MakeStore, options: { manualClock: boolean }): ContractIt {
  return (name, body) =>
    nodeIt(name, async () => {
      const clock = options.manualClock ? new ManualClock(Date.now()) : null;
      const temp = await makeStore(clock ? { clock } : {});
      const extra: Store[] = [];
      const subject: StoreUnderTest = {
        store: temp.store,
        elapse: clock ? async (ms) => clock.advance(ms) : (ms) => waitForStoreTime(temp.store, ms),
        manualClock: clock !== null,
        connect: async () => {
          const store = await openStore(temp.location, { durability: 'normal', schema: temp.env.QUEUECTL_SCHEMA, ...(clock ? { clock } : {}) });
          extra.push(store);
          return store;
        },
      };
      try {
        await body(subject);
      } finally {
        for (const store of extra) await store.close();
        await temp.cleanup();
      }
    });
}

/** Lets `ms` pass by the store's clock: sleeps what is left of it, as the store tells, until none is. */
async function waitForStoreTime(store: Store, ms: number): Promise<void> {
  const until = (await store.now()) + ms;
  for (let now = await store.now(); now < until; now = await store.now()) await new Promise((resolve) => setTimeout(resolve, until - now));
}
