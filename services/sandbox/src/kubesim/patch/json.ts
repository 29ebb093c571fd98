import { ApiError } from '../server/errors.js';

type Json = unknown;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function clone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => deepEqual(a[k], b[k]));
  }
  return false;
}

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const result: Record<string, unknown> = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) Reflect.deleteProperty(result, key);
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

function unprocessable(message: string): ApiError {
  return new ApiError(422, 'Invalid', message, {});
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw unprocessable(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

interface Located {
  parent: Record<string, unknown> | unknown[];
  key: string;
}

function locate(document: Json, path: string[], op: string, raw: string): Located {
  let current: Json = document;
  for (const segment of path.slice(0, -1)) {
    if (Array.isArray(current)) current = current[Number(segment)];
    else if (isObject(current)) current = current[segment];
    else current = undefined;
    if (current === undefined) throw unprocessable(`${op} operation does not apply: doc is missing path: "${raw}"`);
  }
  if (!Array.isArray(current) && !isObject(current)) throw unprocessable(`${op} operation does not apply: doc is missing path: "${raw}"`);
  return { parent: current, key: path[path.length - 1] };
}

function readAt(document: Json, raw: string, op: string): Json {
  const path = parsePointer(raw);
  if (path.length === 0) return document;
  const { parent, key } = locate(document, path, op, raw);
  const value = Array.isArray(parent) ? parent[Number(key)] : parent[key];
  if (value === undefined) throw unprocessable(`${op} operation does not apply: doc is missing path: "${raw}"`);
  return value;
}

function arrayIndex(parent: unknown[], key: string, allowEnd: boolean, raw: string): number {
  if (key === '-' && allowEnd) return parent.length;
  if (!/^(0|[1-9][0-9]*)$/.test(key)) throw unprocessable(`invalid array index "${key}" in "${raw}"`);
  const index = Number(key);
  if (index > parent.length || (!allowEnd && index === parent.length)) throw unprocessable(`index out of bounds: ${raw}`);
  return index;
}

function removeAt(document: Json, raw: string): Json {
  const path = parsePointer(raw);
  const { parent, key } = locate(document, path, 'remove', raw);
  if (Array.isArray(parent)) {
    const index = arrayIndex(parent, key, false, raw);
    return parent.splice(index, 1)[0];
  }
  if (!(key in parent)) throw unprocessable(`remove operation does not apply: doc is missing path: "${raw}"`);
  const value = parent[key];
  Reflect.deleteProperty(parent, key);
  return value;
}

function addAt(document: Json, raw: string, value: Json): Json {
  const path = parsePointer(raw);
  if (path.length === 0) return clone(value);
  const { parent, key } = locate(document, path, 'add', raw);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true, raw), 0, clone(value));
  else parent[key] = clone(value);
  return document;
}

/** RFC 6902 JSON patch. */
export function jsonPatch(document: Json, operations: unknown): Json {
  if (!Array.isArray(operations)) throw new ApiError(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = clone(document);
  for (const operation of operations) {
    if (!isObject(operation) || typeof operation.op !== 'string' || typeof operation.path !== 'string') throw unprocessable('invalid JSON patch operation');
    const { op, path } = operation;
    switch (op) {
      case 'add':
        doc = addAt(doc, path, operation.value);
        break;
      case 'remove':
        removeAt(doc, path);
        break;
      case 'replace': {
        readAt(doc, path, 'replace');
        if (path === '') doc = clone(operation.value);
        else {
          const { parent, key } = locate(doc, parsePointer(path), 'replace', path);
          if (Array.isArray(parent)) parent[arrayIndex(parent, key, false, path)] = clone(operation.value);
          else parent[key] = clone(operation.value);
        }
        break;
      }
      case 'move': {
        if (typeof operation.from !== 'string') throw unprocessable('move operation requires "from"');
        const value = removeAt(doc, operation.from);
        doc = addAt(doc, path, value);
        break;
      }
      case 'copy': {
        if (typeof operation.from !== 'string') throw unprocessable('copy operation requires "from"');
        doc = addAt(doc, path, readAt(doc, operation.from, 'copy'));
        break;
      }
      case 'test': {
        const actual = readAt(doc, path, 'test');
        if (!deepEqual(actual, operation.value))
          throw unprocessable(`the server rejected our request due to an error in our request: testing value ${path} failed`);
        break;
      }
      default:
        throw unprocessable(`Unexpected kind: ${op}`);
    }
  }
  return doc;
}
