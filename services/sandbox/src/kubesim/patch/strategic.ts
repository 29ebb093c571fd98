import { clone } from './json.js';

// Merge keys of the list fields that the built-in types patch by key (patchStrategy "merge").
// Lists not named here are atomic and replaced wholesale, as in the Go structs.
const mergeKeys: Record<string, string | ((items: unknown[]) => string)> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  conditions: 'type',
  ownerReferences: 'uid',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
  ports: (items) => (items.some((i) => isObject(i) && 'containerPort' in i) ? 'containerPort' : 'port'),
};

/** Lists of scalars merged as sets. */
const primitiveMergeLists = new Set(['finalizers']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function mergeKeyFor(field: string, items: unknown[]): string | undefined {
  const key = mergeKeys[field];
  return typeof key === 'function' ? key(items) : key;
}

export function isPrimitiveMergeList(field: string): boolean {
  return primitiveMergeLists.has(field);
}

function mergeList(field: string, original: unknown[], patch: unknown[], order: unknown[] | undefined): unknown[] {
  if (primitiveMergeLists.has(field)) {
    const result = [...original];
    for (const item of patch) if (!result.includes(item)) result.push(item);
    return result;
  }
  const key = mergeKeyFor(field, [...original, ...patch]);
  if (!key) return clone(patch.filter((p) => !(isObject(p) && p.$patch === 'delete')));
  if (patch.some((p) => isObject(p) && p.$patch === 'replace')) return clone(patch.filter((p) => !(isObject(p) && p.$patch === 'replace')));
  const result = original.map((item) => clone(item));
  for (const item of patch) {
    if (!isObject(item)) continue;
    const index = result.findIndex((r) => isObject(r) && r[key] === item[key]);
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    if (index >= 0) result[index] = strategicMergePatch(result[index], item);
    else result.push(strategicMergePatch({}, item));
  }
  if (order) {
    const position = (item: unknown): number => {
      const at = order.findIndex((o) => isObject(o) && isObject(item) && o[key] === item[key]);
      return at < 0 ? order.length : at;
    };
    result.sort((a, b) => position(a) - position(b));
  } else {
    // normalizeElementOrder without a $setElementOrder: items keep their server order, and
    // items the server did not have come first (their server index is -1).
    const serverIndex = (item: unknown): number => original.findIndex((o) => isObject(o) && isObject(item) && o[key] === item[key]);
    result.sort((a, b) => serverIndex(a) - serverIndex(b));
  }
  return result;
}

/**
 * Strategic merge patch for the built-in types: maps merge, null deletes, keyed lists merge
 * by their merge key, and the directives kubectl sends ($patch, $setElementOrder,
 * $deleteFromPrimitiveList, $retainKeys) are honoured.
 */
export function strategicMergePatch(original: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const replaced = clone(patch);
    delete replaced.$patch;
    return replaced;
  }
  if (patch.$patch === 'delete') return undefined;
  const result: Record<string, unknown> = isObject(original) ? clone(original) : {};
  const retainKeys = Array.isArray(patch.$retainKeys) ? (patch.$retainKeys as string[]) : undefined;
  if (retainKeys) for (const key of Object.keys(result)) if (!retainKeys.includes(key)) Reflect.deleteProperty(result, key);
  for (const [field, value] of Object.entries(patch)) {
    if (field === '$patch' || field === '$retainKeys' || field.startsWith('$setElementOrder/')) continue;
    if (field.startsWith('$deleteFromPrimitiveList/')) {
      const target = field.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(result[target]) && Array.isArray(value)) result[target] = (result[target] as unknown[]).filter((v) => !value.includes(v));
      continue;
    }
    if (value === null) {
      Reflect.deleteProperty(result, field);
      continue;
    }
    const order = patch[`$setElementOrder/${field}`];
    if (Array.isArray(value)) {
      const current = Array.isArray(result[field]) ? (result[field] as unknown[]) : [];
      result[field] = mergeList(field, current, value, Array.isArray(order) ? order : undefined);
    } else if (isObject(value)) {
      const merged = strategicMergePatch(result[field], value);
      if (merged === undefined) Reflect.deleteProperty(result, field);
      else result[field] = merged;
    } else {
      result[field] = value;
    }
  }
  for (const [field, order] of Object.entries(patch)) {
    if (!field.startsWith('$setElementOrder/') || !Array.isArray(order)) continue;
    const target = field.slice('$setElementOrder/'.length);
    if (field in patch && target in patch) continue;
    if (Array.isArray(result[target])) result[target] = mergeList(target, result[target] as unknown[], [], order);
  }
  return result;
}
