// Decodes an EC2 Query request (flat `A.1.B=v` pairs) into a typed object keyed by the model's
// member names, rejecting whatever the real service rejects: unknown parameters, missing required
// members, malformed scalars and values outside an enum.
import { invalidValue, missingParameter, unknownParameter } from './errors.js';
import { queryNameOf, shapeOf, type Ec2Model, type Shape } from './model.js';

export type InputValue = string | number | boolean | Date | Buffer | InputValue[] | InputObject;
export interface InputObject {
  [member: string]: InputValue;
}

interface ParamNode {
  value?: string;
  children: Map<string, ParamNode>;
}

/** Protocol parameters that sit beside the operation's own members. */
const ENVELOPE = new Set(['Action', 'Version']);

export function decodeQueryInput(model: Ec2Model, inputShapeName: string | undefined, params: URLSearchParams): InputObject {
  const root: ParamNode = { children: new Map() };
  for (const [key, value] of params) {
    if (ENVELOPE.has(key)) continue;
    if (key === '') throw unknownParameter(key);
    let node = root;
    for (const segment of key.split('.')) {
      let child = node.children.get(segment);
      if (!child) {
        child = { children: new Map() };
        node.children.set(segment, child);
      }
      node = child;
    }
    if (node.value !== undefined) throw invalidValue(key, value, 'The parameter is specified more than once.');
    node.value = value;
  }
  if (!inputShapeName) {
    const first = root.children.keys().next();
    if (!first.done) throw unknownParameter(first.value);
    return {};
  }
  const decoded = decodeNode(model, shapeOf(model, inputShapeName), root, '');
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded) || decoded instanceof Date || Buffer.isBuffer(decoded)) {
    throw new Error(`input shape ${inputShapeName} is not a structure`);
  }
  return decoded;
}

function decodeNode(model: Ec2Model, shape: Shape, node: ParamNode, path: string): InputValue {
  switch (shape.type) {
    case 'structure':
      return decodeStructure(model, shape, node, path);
    case 'list':
      return decodeList(model, shape, node, path);
    case 'map':
      throw unknownParameter(path);
    default:
      if (node.children.size > 0) throw unknownParameter(`${path}.${node.children.keys().next().value}`);
      return decodeScalar(shape, node.value ?? '', path);
  }
}

function decodeStructure(model: Ec2Model, shape: Shape, node: ParamNode, path: string): InputObject {
  if (node.value !== undefined && path) throw invalidValue(path, node.value, 'A structure cannot have a scalar value.');
  const members = shape.members ?? {};
  const byQueryName = new Map<string, string>();
  for (const [memberName, member] of Object.entries(members)) byQueryName.set(queryNameOf(memberName, member), memberName);
  const out: InputObject = {};
  for (const [queryName, child] of node.children) {
    const memberName = byQueryName.get(queryName);
    const childPath = path ? `${path}.${queryName}` : queryName;
    if (!memberName) throw unknownParameter(childPath);
    const member = members[memberName];
    out[memberName] = decodeNode(model, shapeOf(model, member.shape), child, childPath);
  }
  for (const required of shape.required ?? []) {
    if (out[required] === undefined) {
      const member = members[required];
      const queryName = member ? queryNameOf(required, member) : required;
      throw missingParameter(path ? `${path}.${queryName}` : queryName);
    }
  }
  return out;
}

function decodeList(model: Ec2Model, shape: Shape, node: ParamNode, path: string): InputValue[] {
  if (node.value !== undefined) throw unknownParameter(path);
  if (!shape.member) throw new Error(`list shape at ${path} has no member`);
  const memberShape = shapeOf(model, shape.member.shape);
  const entries: Array<[number, ParamNode]> = [];
  for (const [index, child] of node.children) {
    if (!/^[1-9][0-9]*$/.test(index)) throw unknownParameter(`${path}.${index}`);
    entries.push([Number(index), child]);
  }
  entries.sort((a, b) => a[0] - b[0]);
  if (shape.max !== undefined && entries.length > shape.max) {
    throw invalidValue(path, String(entries.length), `The list may hold at most ${shape.max} items.`);
  }
  if (shape.min !== undefined && entries.length < shape.min) {
    throw invalidValue(path, String(entries.length), `The list must hold at least ${shape.min} items.`);
  }
  return entries.map(([index, child]) => decodeNode(model, memberShape, child, `${path}.${index}`));
}

function decodeScalar(shape: Shape, raw: string, path: string): InputValue {
  switch (shape.type) {
    case 'string': {
      if (shape.enum && !shape.enum.includes(raw)) throw invalidValue(path, raw);
      if (shape.min !== undefined && raw.length < shape.min) throw invalidValue(path, raw, `Minimum length is ${shape.min}.`);
      if (shape.max !== undefined && raw.length > shape.max) throw invalidValue(path, raw.slice(0, 64), `Maximum length is ${shape.max}.`);
      if (shape.pattern && !new RegExp(shape.pattern).test(raw)) throw invalidValue(path, raw);
      return raw;
    }
    case 'integer':
    case 'long': {
      if (!/^-?[0-9]+$/.test(raw)) throw invalidValue(path, raw, 'An integer is required.');
      const value = Number(raw);
      if (shape.type === 'integer' && (value > 2147483647 || value < -2147483648)) throw invalidValue(path, raw);
      if (!Number.isSafeInteger(value)) throw invalidValue(path, raw);
      if (shape.min !== undefined && value < shape.min) throw invalidValue(path, raw, `Minimum value is ${shape.min}.`);
      if (shape.max !== undefined && value > shape.max) throw invalidValue(path, raw, `Maximum value is ${shape.max}.`);
      return value;
    }
    case 'double':
    case 'float': {
      const value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value)) throw invalidValue(path, raw, 'A number is required.');
      return value;
    }
    case 'boolean':
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      throw invalidValue(path, raw, 'A boolean (true or false) is required.');
    case 'timestamp': {
      const isoLike = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(raw);
      const date = new Date(raw);
      if (!isoLike || Number.isNaN(date.getTime())) throw invalidValue(path, raw, 'An ISO 8601 timestamp is required.');
      return date;
    }
    case 'blob':
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw) || raw.length % 4 !== 0) throw invalidValue(path, raw.slice(0, 32), 'Base64 is required.');
      return Buffer.from(raw, 'base64');
    default:
      throw new Error(`unsupported scalar type ${shape.type} at ${path}`);
  }
}
