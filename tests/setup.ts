// Every test file runs on the WebAssembly backend unless BIOCREDIT_BACKEND says otherwise.
import { afterAll } from 'vitest';
import '../register.js';
import { initBackend } from '../src/backend.js';
import { removeTempDirs } from './helpers.js';

await initBackend(process.env['BIOCREDIT_BACKEND'] ? undefined : 'wasm');

// Temp dirs made by tests/helpers.ts go when the file's tests are done.
afterAll(removeTempDirs);
