/** `npm start` on a fresh clone: the first visit is not reloaded under the user by a late dependency optimisation. */
import { expect, test } from '@playwright/test';
import { firstVisit } from '../tools/dev-first-visit.ts';

test('the dev server does not reload the page on the first visit (empty dependency cache)', async () => {
  const r = await firstVisit(Number(process.env.E2E_PORT ?? 4173) + 1026);
  expect(r.serverLines.filter((l) => /reloading/i.test(l))).toEqual([]);
  expect(r.pageLoads).toBe(1);
});
