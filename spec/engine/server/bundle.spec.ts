import { expect } from 'chai';
import { statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { bundleIsStale, dashboardDir, ensureBundle } from '../../../engine/server/bundle.js';

describe('dashboard bundle', function () {
  this.timeout(120_000);

  // The dashboard imports common/ (phase bands, colours): an edit there must rebuild it too.
  for (const file of [
    join(dashboardDir, 'theme.ts'),
    join(dashboardDir, '..', 'common', 'colours.ts'),
  ]) {
    it(`is stale once ${file.split('/').slice(-2).join('/')} is newer than it`, async () => {
      await ensureBundle();
      expect(bundleIsStale()).to.equal(false);
      const { atime, mtime } = statSync(file);
      try {
        const later = new Date(Date.now() + 60_000);
        utimesSync(file, later, later);
        expect(bundleIsStale()).to.equal(true);
      } finally {
        utimesSync(file, atime, mtime);
      }
      expect(bundleIsStale()).to.equal(false);
    });
  }
});
