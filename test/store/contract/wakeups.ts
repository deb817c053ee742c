import { describe } from 'node:test';
import { waitFor } from '../../support/wait-for';
import {  } from './job-builders';
import type { ContractIt } from './store-under-test';

/** Wake-ups: notify reaches subscribers. */
export function wakeupsContract(it: ContractIt): void {
  describe('wake-ups', () => {
    it('wakes subscribers on notify', async ({ store }) => {
      let wakes = 0;
      const unsubscribe = await store.subscribe(() => {
        wakes++;
      });
      try {
        await store.notify();
        await waitFor('the subscriber to be woken', () => wakes > 0);
      } finally {
        await unsubscribe();
      }
    });
  });
}
