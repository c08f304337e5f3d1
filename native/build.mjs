// Builds the native kernels (native/binding.gyp) with the node-gyp that npm bundles,
// against the headers of the Node that runs this script (no download). Run by
// `npm install` / `npm ci`; a failed build is one line and exit 0: biocredit
// then runs on plain WebAssembly. BIOCREDIT_NATIVE=0 skips the build.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const say = (msg) => process.stderr.write(`biocredit: ${msg}\n`);

if (process.env.BIOCREDIT_NATIVE === '0') {
  say('native kernels not built (BIOCREDIT_NATIVE=0); running on WebAssembly');
  process.exit(0);
}
// npm tells its lifecycle scripts where its node-gyp is; otherwise look beside the Node that runs us.
const gyp = [process.env.npm_config_node_gyp, join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')].find(
  (p) => p && existsSync(p),
);
const nodedir = join(dirname(process.execPath), '..');
if (!gyp) {
  say('native kernels not built (node-gyp not found); running on WebAssembly');
  process.exit(0);
}
if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) {
  say(`native kernels not built (no Node headers under ${nodedir}/include/node); running on WebAssembly`);
  process.exit(0);
}
const run = spawnSync(process.execPath, [gyp, 'rebuild', `--directory=${here}`, `--nodedir=${nodedir}`], { encoding: 'utf8' });
const log = join(here, 'build.log');
writeFileSync(log, `${run.stdout ?? ''}${run.stderr ?? ''}${run.error ? String(run.error) : ''}`);
if (run.status !== 0) {
  const reason = `${run.stderr ?? ''}${run.error ?? ''}`.split('\n').find((l) => /error|not found/i.test(l))?.trim() ?? `exit ${run.status}`;
  say(`native kernels not built (${reason.slice(0, 160)}; full log ${log}); running on WebAssembly`);
}
