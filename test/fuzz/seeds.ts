import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir, syntheticDir, repoRoot, haveFixtures } from '../helpers/fixtures.js';

/** Every seed image: the shared fixtures, the synthetic volumes and the repository's sample image (read in place). */
export function seedPaths(): string[] {
  const out: string[] = [];
  const image = (n: string) => /\.(dmg|iso|img|hfs|sparseimage)$/.test(n);
  if (haveFixtures()) {
    for (const n of readdirSync(fixturesDir).filter(image).sort()) out.push(join(fixturesDir, n));
    if (existsSync(syntheticDir)) for (const n of readdirSync(syntheticDir).filter(image).sort()) out.push(join(syntheticDir, n));
  }
  const sample = join(repoRoot, 'fixtures', 'sample.dmg');
  if (existsSync(sample)) out.push(sample);
  return out;
}
