import type { KubeObject } from '../contracts.js';
import { clone, deepEqual } from '../patch/json.js';
import { isPrimitiveMergeList, mergeKeyFor, strategicMergePatch } from '../patch/strategic.js';
import { ApiError } from '../server/errors.js';

/** fieldsV1: nested `f:<field>`, `k:<key json>`, `v:<value json>` and `.` markers. */
export interface FieldSet {
  [segment: string]: FieldSet;
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: FieldSet;
  subresource?: string;
}

const systemMetadata = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'managedFields',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'selfLink',
  'generateName',
]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fieldSetOfValue(field: string, value: unknown): FieldSet {
  if (isObject(value)) {
    const set: FieldSet = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined && v !== null) set[`f:${k}`] = fieldSetOfValue(k, v);
    return set;
  }
  if (Array.isArray(value)) {
    if (isPrimitiveMergeList(field)) {
      const set: FieldSet = {};
      for (const item of value) set[`v:${JSON.stringify(item)}`] = {};
      return set;
    }
    const key = mergeKeyFor(field, value);
    if (key && value.every((item) => isObject(item) && item[key] !== undefined)) {
      const set: FieldSet = {};
      for (const item of value as Array<Record<string, unknown>>) {
        set[`k:${JSON.stringify({ [key]: item[key] })}`] = { '.': {}, ...fieldSetOfValue('', item) };
      }
      return set;
    }
  }
  return {};
}

/** The fields an object (or applied configuration) sets, excluding server-owned metadata. */
export function fieldSetOf(object: Record<string, unknown>, includeStatus: boolean): FieldSet {
  const set: FieldSet = {};
  for (const [k, v] of Object.entries(object)) {
    if (k === 'apiVersion' || k === 'kind' || v === undefined || v === null) continue;
    if (k === 'status' && !includeStatus) continue;
    if (k === 'metadata' && isObject(v)) {
      const meta: FieldSet = {};
      for (const [mk, mv] of Object.entries(v)) if (!systemMetadata.has(mk) && mv !== undefined && mv !== null) meta[`f:${mk}`] = fieldSetOfValue(mk, mv);
      if (Object.keys(meta).length > 0) set['f:metadata'] = meta;
      continue;
    }
    set[`f:${k}`] = fieldSetOfValue(k, v);
  }
  return set;
}

/** Leaf paths of a field set (each path a list of segments); list-item `.` markers are not leaves. */
export function leafPaths(set: FieldSet, prefix: string[] = []): string[][] {
  const paths: string[][] = [];
  for (const [segment, child] of Object.entries(set)) {
    if (segment === '.') continue;
    const path = [...prefix, segment];
    const children = Object.keys(child).filter((s) => s !== '.');
    if (children.length === 0) paths.push(path);
    else paths.push(...leafPaths(child, path));
  }
  return paths;
}

function hasPath(set: FieldSet, path: string[]): boolean {
  let current: FieldSet | undefined = set;
  for (const segment of path) {
    current = current?.[segment];
    if (!current) return false;
  }
  return true;
}

function removePath(set: FieldSet, path: string[]): void {
  const [head, ...rest] = path;
  const child = set[head];
  if (!child) return;
  if (rest.length === 0) {
    Reflect.deleteProperty(set, head);
    return;
  }
  removePath(child, rest);
  if (Object.keys(child).filter((s) => s !== '.').length === 0) Reflect.deleteProperty(set, head);
}

function addPath(set: FieldSet, path: string[]): void {
  let current = set;
  for (const segment of path) {
    current[segment] ??= segment.startsWith('k:') ? { '.': {} } : {};
    current = current[segment];
  }
}

function step(value: unknown, segment: string): unknown {
  if (segment.startsWith('f:')) return isObject(value) ? value[segment.slice(2)] : undefined;
  if (segment.startsWith('k:')) {
    const key = JSON.parse(segment.slice(2)) as Record<string, unknown>;
    return Array.isArray(value) ? value.find((item) => isObject(item) && Object.entries(key).every(([k, v]) => item[k] === v)) : undefined;
  }
  if (segment.startsWith('v:')) {
    const item = JSON.parse(segment.slice(2)) as unknown;
    return Array.isArray(value) && value.some((v) => deepEqual(v, item)) ? item : undefined;
  }
  return undefined;
}

export function valueAt(object: unknown, path: string[]): unknown {
  let current = object;
  for (const segment of path) current = step(current, segment);
  return current;
}

function deleteAt(object: unknown, path: string[]): void {
  const parent = valueAt(object, path.slice(0, -1));
  const last = path[path.length - 1];
  if (last.startsWith('f:') && isObject(parent)) Reflect.deleteProperty(parent, last.slice(2));
  else if (Array.isArray(parent)) {
    const target = step(parent, last);
    const index = parent.findIndex((item) => item === target || deepEqual(item, target));
    if (index >= 0) parent.splice(index, 1);
  }
}

/** `.spec.containers[name="app"].image`, the notation of the real conflict messages. */
export function formatPath(path: string[]): string {
  return path
    .map((segment) => {
      if (segment.startsWith('f:')) return `.${segment.slice(2)}`;
      if (segment.startsWith('k:')) {
        const key = JSON.parse(segment.slice(2)) as Record<string, unknown>;
        return `[${Object.entries(key)
          .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
          .join(',')}]`;
      }
      return `[=${segment.slice(2)}]`;
    })
    .join('');
}

function entriesOf(object: KubeObject): ManagedFieldsEntry[] {
  return Array.isArray(object.metadata.managedFields) ? (clone(object.metadata.managedFields) as ManagedFieldsEntry[]) : [];
}

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function upsert(entries: ManagedFieldsEntry[], entry: ManagedFieldsEntry): ManagedFieldsEntry[] {
  const rest = entries.filter((e) => !(e.manager === entry.manager && e.operation === entry.operation && (e.subresource ?? '') === (entry.subresource ?? '')));
  return Object.keys(entry.fieldsV1).length > 0 ? [...rest, entry] : rest;
}

function prune(entries: ManagedFieldsEntry[]): ManagedFieldsEntry[] {
  return entries.filter((e) => Object.keys(e.fieldsV1).length > 0);
}

/**
 * Records a non-apply write (create, update, patch): the manager takes the fields whose
 * values it changed, and no manager keeps fields that no longer exist.
 */
export function recordUpdate(
  oldObject: KubeObject | undefined,
  newObject: KubeObject,
  manager: string,
  subresource: string | undefined,
  includeStatus: boolean,
): ManagedFieldsEntry[] {
  let entries = entriesOf(newObject.metadata.managedFields ? newObject : (oldObject ?? newObject));
  const newSet = fieldSetOf(newObject, includeStatus || subresource === 'status');
  const changed = leafPaths(newSet).filter((p) => !oldObject || !deepEqual(valueAt(oldObject, p), valueAt(newObject, p)));
  for (const entry of entries) {
    for (const path of leafPaths(entry.fieldsV1)) {
      if (valueAt(newObject, path) === undefined || changed.some((c) => deepEqual(c, path))) removePath(entry.fieldsV1, path);
    }
  }
  entries = prune(entries);
  if (changed.length > 0) {
    const existing = entries.find((e) => e.manager === manager && e.operation === 'Update' && (e.subresource ?? '') === (subresource ?? ''));
    const fields = existing ? existing.fieldsV1 : {};
    for (const path of changed) addPath(fields, path);
    entries = upsert(entries, {
      manager,
      operation: 'Update',
      apiVersion: newObject.apiVersion,
      time: now(),
      fieldsType: 'FieldsV1',
      fieldsV1: fields,
      ...(subresource ? { subresource } : {}),
    });
  }
  return entries;
}

/** Maps are containers, not values: an empty map in an applied configuration claims no value. */
function differs(current: unknown, applied: unknown): boolean {
  if (isObject(current) && isObject(applied)) return false;
  return !deepEqual(current, applied);
}

/**
 * Server-side apply: merges `applied` into `current` on behalf of `manager`. Fields another
 * manager owns with a different value are conflicts (409) unless `force` transfers them.
 */
export function serverSideApply(
  current: KubeObject | undefined,
  applied: KubeObject,
  manager: string,
  force: boolean,
  subresource: string | undefined,
  includeStatus: boolean,
): KubeObject {
  const base: KubeObject = current ? clone(current) : { apiVersion: applied.apiVersion, kind: applied.kind, metadata: {} };
  let entries = entriesOf(base);
  const appliedSet = fieldSetOf(applied, includeStatus || subresource === 'status');
  const appliedPaths = leafPaths(appliedSet);
  const conflicts: Array<{ manager: string; path: string[] }> = [];
  for (const entry of entries) {
    if (entry.manager === manager && entry.operation === 'Apply') continue;
    for (const path of appliedPaths) {
      if (hasPath(entry.fieldsV1, path) && differs(valueAt(base, path), valueAt(applied, path))) conflicts.push({ manager: entry.manager, path });
    }
  }
  if (conflicts.length > 0 && !force) {
    const causes = conflicts.map((c) => {
      const owner = entries.find((e) => e.manager === c.manager);
      return {
        type: 'FieldManagerConflict',
        message: `conflict with "${c.manager}"${owner?.operation === 'Apply' ? '' : ` using ${owner?.apiVersion ?? applied.apiVersion}`}`,
        field: formatPath(c.path),
      };
    });
    let message: string;
    if (conflicts.length === 1) message = `Apply failed with 1 conflict: ${causes[0].message}: ${causes[0].field}`;
    else {
      const byManager = new Map<string, string[]>();
      for (const cause of causes) byManager.set(cause.message, [...(byManager.get(cause.message) ?? []), cause.field]);
      const lines = [...byManager.keys()]
        .sort()
        .flatMap((m) => [`${m.replace(/^conflict with/, 'conflicts with')}:`, ...(byManager.get(m) ?? []).map((f) => `- ${f}`)]);
      message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
    }
    throw new ApiError(409, 'Conflict', message, { causes });
  }
  // Changed fields move to the applier; fields with equal values are shared.
  for (const entry of entries) {
    if (entry.manager === manager && entry.operation === 'Apply') continue;
    for (const path of appliedPaths) {
      if (hasPath(entry.fieldsV1, path) && differs(valueAt(base, path), valueAt(applied, path))) removePath(entry.fieldsV1, path);
    }
  }
  const previous = entries.find((e) => e.manager === manager && e.operation === 'Apply' && (e.subresource ?? '') === (subresource ?? ''));
  const merged = strategicMergePatch(base, stripForMerge(applied)) as KubeObject;
  if (previous) {
    for (const path of leafPaths(previous.fieldsV1)) {
      if (hasPath(appliedSet, path)) continue;
      const ownedElsewhere = entries.some((e) => e !== previous && hasPath(e.fieldsV1, path));
      if (!ownedElsewhere) deleteAt(merged, path);
    }
  }
  entries = prune(entries);
  entries = upsert(entries, {
    manager,
    operation: 'Apply',
    apiVersion: applied.apiVersion,
    time: now(),
    fieldsType: 'FieldsV1',
    fieldsV1: appliedSet,
    ...(subresource ? { subresource } : {}),
  });
  merged.metadata = { ...merged.metadata, managedFields: entries };
  return merged;
}

function stripForMerge(applied: KubeObject): KubeObject {
  const copy = clone(applied);
  delete copy.metadata.managedFields;
  delete copy.metadata.resourceVersion;
  return copy;
}
