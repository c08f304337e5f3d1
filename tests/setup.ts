// Every test file runs on the WebAssembly backend unless BIOCREDIT_BACKEND says otherwise.
import '../register.js';
import { initBackend } from '../src/backend.js';

await initBackend(process.env['BIOCREDIT_BACKEND'] ? undefined : 'wasm');
