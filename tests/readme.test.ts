/** The README's API example runs as written against the built package. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';

describe('README', () => {
  it('API example trains and reports a test accuracy', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Using the API'));
    const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
    expect(code).toBeDefined();
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', code!], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const m = /test accuracy ([0-9.]+), run dir (.+)$/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const runDir = m![2]!.trim();
    try {
      expect(Number(m![1])).toBeGreaterThan(0.85);
      expect(existsSync(join(runDir, 'checkpoint', 'model.json'))).toBe(true);
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  });

  it('set-up section is two commands followed by the main command', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const setup = /## Set up\n\n```sh\n([\s\S]*?)```/.exec(readme)?.[1]?.trim().split('\n');
    expect(setup).toEqual(['npm ci', 'npm test', expect.stringMatching(/^npx biocredit (train|compare) /)]);
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    expect(ci).toMatch(/^npm ci\b|\bnpm ci\b/m);
    expect(ci).toMatch(/\bnpm test\b/);
  });
});
