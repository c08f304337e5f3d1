/** The context-dependent decision task: the answer follows the cued modality only. */
import { describe, expect, it } from 'vitest';
import type { TaskDataset } from '../../datasets/tasks/task.js';
import { resolveOptions } from '../../src/options.js';
import { tasks } from '../../src/registries.js';

const load = async (given: Record<string, unknown>) => {
  const e = tasks.get('context-decision');
  return (await e.load(resolveOptions('task context-decision', e.options ?? [], given))) as TaskDataset;
};

describe('context-decision', () => {
  it('reports the sign of the cued modality, whatever the other one says (noise-free trials)', async () => {
    const ds = await load({ noise: 0, trials: 200, testTrials: 10, dt: 100, stimulusMs: 200, delayMs: 500, decisionMs: 100 });
    expect(ds.inputShape).toEqual([8, 6]);
    let conflicts = 0;
    for (let i = 0; i < 200; i++) {
      const tr = ds.trial('train', i);
      const at = (t: number, k: number) => tr.inputs[t * 6 + k]!;
      // Steps 0–1 stimulus, 2–6 delay, 7 decision (scored).
      expect(Array.from(tr.mask)).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
      const context = at(0, 4) === 1 ? 0 : 1;
      for (let t = 0; t < 8; t++) expect([at(t, 4), at(t, 5)]).toEqual(context === 0 ? [1, 0] : [0, 1]);
      for (let t = 2; t < 8; t++) for (let k = 0; k < 4; k++) expect(at(t, k)).toBe(0);
      const evidence = (m: number) => at(0, 2 * m) - at(0, 2 * m + 1);
      const target = tr.targets[7]!;
      if (evidence(context) !== 0) expect(target).toBe(Math.sign(evidence(context)));
      else expect([1, -1]).toContain(target);
      if (evidence(0) * evidence(1) < 0) conflicts++;
    }
    // Trials where the modalities disagree exist, so the cue matters.
    expect(conflicts).toBeGreaterThan(20);
  });

  it('--fixation-ms adds cue-only steps before the evidence', async () => {
    const ds = await load({ noise: 0, trials: 4, testTrials: 2, dt: 100, fixationMs: 300, stimulusMs: 200, delayMs: 500, decisionMs: 100 });
    const tr = ds.trial('train', 0);
    expect(tr.steps).toBe(11);
    for (let t = 0; t < 3; t++) expect(tr.inputs[t * 6]! + tr.inputs[t * 6 + 1]! + tr.inputs[t * 6 + 4]! + tr.inputs[t * 6 + 5]!).toBe(1);
  });
});
