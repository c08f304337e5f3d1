/**
 * Progress from a training process to the `compare` process that started it,
 * over Node's IPC channel. A `train` process reports this way instead of on its
 * terminal when BIOCREDIT_IPC=1 and it has an IPC channel.
 */
import type { EvalRecord, Reporter } from '../trainer.js';

export const IPC_ENV = 'BIOCREDIT_IPC';

export type WorkerMessage =
  | { type: 'start'; totalSteps: number; stepsPerEpoch: number; startStep: number; resumed: boolean }
  | { type: 'progress'; step: number; totalSteps: number; epoch: number; loss: number; accuracy: number; etaSec: number }
  | { type: 'eval'; record: EvalRecord };

export function ipcAvailable(): boolean {
  return process.env[IPC_ENV] === '1' && typeof process.send === 'function';
}

export function createIpcReporter(intervalMs = 250): Reporter {
  const send = (m: WorkerMessage) => process.send?.(m);
  let last = 0;
  return {
    start: (info) =>
      send({ type: 'start', totalSteps: info.totalSteps, stepsPerEpoch: info.stepsPerEpoch, startStep: info.startStep, resumed: info.resumed }),
    progress: (p) => {
      const now = Date.now();
      if (now - last < intervalMs && p.step !== p.totalSteps) return;
      last = now;
      send({ type: 'progress', step: p.step, totalSteps: p.totalSteps, epoch: p.epoch, loss: p.loss, accuracy: p.accuracy, etaSec: p.etaSec });
    },
    eval: (record) => send({ type: 'eval', record }),
  };
}
