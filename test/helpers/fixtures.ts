/**
 * The test fixtures in test/fixtures/ (where each comes from: test/fixtures/README.md). Every
 * test and interop file finds its vectors, transcripts, PKI and peer configs through here, so
 * the repository needs nothing beside it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const FIXTURES = new URL('../fixtures/', import.meta.url);

/** The absolute path of test/fixtures/<rel> (e.g. `gnutls/ccm8-only.conf`). */
export function fixturePath(rel: string): string {
  return fileURLToPath(new URL(rel, FIXTURES));
}

/** test/fixtures/<rel> as UTF-8 text. */
export function readFixture(rel: string): string {
  return readFileSync(fixturePath(rel), 'utf8');
}

/** test/fixtures/<rel> parsed as JSON; `T` is what the test expects (not checked). */
export function readFixtureJson<T>(rel: string): T {
  return JSON.parse(readFixture(rel)) as T;
}

/** The names of the files in test/fixtures/<dir>, sorted. */
export function listFixtures(dir: string): string[] {
  return readdirSync(fixturePath(dir)).sort();
}
