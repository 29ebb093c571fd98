import type { KubeObject, ObjectReader } from '../../../services/sandbox/src/kubesim/contracts.js';

/** An in-memory ObjectReader keyed like the core storage (group, plural resource, namespace, name). */
export class MemoryReader implements ObjectReader {
  private readonly objects = new Map<string, KubeObject>();

  constructor(initial: Array<[group: string, resource: string, object: KubeObject]> = []) {
    for (const [group, resource, object] of initial) this.put(group, resource, object);
  }

  put(group: string, resource: string, object: KubeObject): void {
    this.objects.set(this.key(group, resource, object.metadata.namespace, object.metadata.name ?? ''), structuredClone(object));
  }

  remove(group: string, resource: string, namespace: string | undefined, name: string): void {
    this.objects.delete(this.key(group, resource, namespace, name));
  }

  async get(group: string, resource: string, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const found = this.objects.get(this.key(group, resource, namespace, name));
    return found ? structuredClone(found) : undefined;
  }

  async list(group: string, resource: string, namespace?: string): Promise<KubeObject[]> {
    const prefix = `${group}|${resource}|`;
    return [...this.objects.entries()]
      .filter(([key, object]) => key.startsWith(prefix) && (namespace === undefined || object.metadata.namespace === namespace))
      .map(([, object]) => structuredClone(object));
  }

  private key(group: string, resource: string, namespace: string | undefined, name: string): string {
    return `${group}|${resource}|${namespace ?? ''}|${name}`;
  }
}
