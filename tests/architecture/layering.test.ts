/**
 * The layering the code keeps (docs/architecture.md, "Layers"), read from the
 * import graph of every TypeScript file outside tests/: no import cycles, and
 * no forbidden edge — the core (src/) imports none of the plug-in folders,
 * rules and analyses never import a concrete model, models never import an
 * analysis. Type-only imports count: they couple the code as much.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.js';

const SKIP = new Set(['node_modules', 'dist', 'tests', '.git', '.ci']);

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sources(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** file (relative to the root) → the project files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(ROOT)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const deps = importedFiles
      .map((f) => f.fileName)
      .filter((f) => f.startsWith('.'))
      .map((f) => relative(ROOT, resolve(dirname(file), f.replace(/\.js$/, '.ts'))));
    graph.set(relative(ROOT, file), [...new Set(deps)]);
  }
  return graph;
}

/** Strongly connected components with more than one file (Tarjan), and self-imports. */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || graph.get(v)!.includes(v)) out.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

const PLUGINS = ['rules', 'models', 'datasets', 'analyses', 'experiments', 'bench'];
const top = (path: string) => path.split('/')[0]!;

/** Why an edge is forbidden, or null. */
function forbidden(from: string, to: string): string | null {
  if (top(from) === 'src' && PLUGINS.includes(top(to))) return 'the core imports a plug-in folder';
  if ((top(from) === 'rules' || top(from) === 'analyses') && top(to) === 'models') return 'a rule or analysis imports a concrete model';
  if (top(from) === 'models' && (top(to) === 'analyses' || to.startsWith('src/analysis/'))) return 'a model imports an analysis';
  return null;
}

describe('layering', () => {
  const graph = importGraph();

  it('reads the whole tree (a sanity check of the reader itself)', () => {
    expect(graph.size).toBeGreaterThan(80);
    expect(graph.get('rules/eprop.ts')).toContain('src/entries.ts');
    expect(graph.get('src/types.ts')).toContain('src/activations.ts');
    // The detectors find what they look for.
    expect(cycles(new Map([['a.ts', ['b.ts']], ['b.ts', ['a.ts']], ['c.ts', []]]))).toEqual([['a.ts', 'b.ts']]);
    expect(forbidden('src/trainer.ts', 'models/rnn.ts')).not.toBeNull();
    expect(forbidden('rules/fa.ts', 'src/ops.ts')).toBeNull();
  });

  it('has no import cycle', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('has no forbidden edge', () => {
    const bad = [...graph].flatMap(([from, deps]) => deps.map((to) => [from, to, forbidden(from, to)] as const).filter(([, , why]) => why !== null));
    expect(bad.map(([from, to, why]) => `${from} → ${to}: ${why}`)).toEqual([]);
  });
});
