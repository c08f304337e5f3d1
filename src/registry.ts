/**
 * One generic registry. Rules, models, datasets, tasks and analyses each have one
 * (src/registries.ts); they are filled by explicit `register` modules, never by
 * scanning the filesystem.
 */
import { UsageError } from './errors.js';
import type { RegistryItem } from './types.js';

export class Registry<E extends RegistryItem> {
  private readonly items = new Map<string, E>();

  /** `plural` for messages where adding an s is wrong (analysis → analyses). */
  constructor(
    readonly kind: string,
    private readonly plural = `${kind}s`,
  ) {}

  register(item: E): E {
    if (this.items.has(item.name)) throw new Error(`${this.kind} "${item.name}" is registered twice`);
    this.items.set(item.name, item);
    return item;
  }

  get(name: string): E {
    const item = this.items.get(name);
    if (!item) {
      const known = this.names();
      throw new UsageError(
        `unknown ${this.kind} "${name}"; known ${this.plural}: ${known.length ? known.join(', ') : '(none registered)'}`,
      );
    }
    return item;
  }

  has(name: string): boolean {
    return this.items.has(name);
  }

  names(): string[] {
    return [...this.items.keys()];
  }

  entries(): E[] {
    return [...this.items.values()];
  }
}
