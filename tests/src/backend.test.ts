import { afterAll, describe, expect, it } from 'vitest';
import { initBackend, parseBackendChoice, requestedBackend } from '../../src/backend.js';
import { UsageError } from '../../src/errors.js';

describe('backend selection', () => {
  afterAll(async () => {
    await initBackend('wasm');
  });

  it('parses names and rejects unknown ones with the source named', () => {
    expect(parseBackendChoice('WASM', '--backend')).toBe('wasm');
    expect(parseBackendChoice('tensorflow', '--backend')).toBe('node');
    expect(() => parseBackendChoice('gpu', '--backend')).toThrow(/--backend must be one of auto, node, wasm, cpu, got "gpu"/);
  });

  it('lets BIOCREDIT_BACKEND choose when no flag is given, and the flag win over it', () => {
    const old = process.env['BIOCREDIT_BACKEND'];
    process.env['BIOCREDIT_BACKEND'] = 'cpu';
    try {
      expect(requestedBackend()).toBe('cpu');
      expect(requestedBackend('wasm')).toBe('wasm');
      process.env['BIOCREDIT_BACKEND'] = 'nonsense';
      expect(() => requestedBackend()).toThrow(/BIOCREDIT_BACKEND must be one of/);
    } finally {
      if (old === undefined) delete process.env['BIOCREDIT_BACKEND'];
      else process.env['BIOCREDIT_BACKEND'] = old;
    }
  });

  it('refuses the native backend with a clear error when tfjs-node is absent', async () => {
    let nativeAvailable = true;
    try {
      await import('@tensorflow/tfjs-node' as string);
    } catch {
      nativeAvailable = false;
    }
    if (nativeAvailable) {
      expect(await initBackend('node')).toBe('tensorflow');
    } else {
      await expect(initBackend('node')).rejects.toThrow(UsageError);
      await expect(initBackend('node')).rejects.toThrow(/@tensorflow\/tfjs-node/);
    }
  });
});
