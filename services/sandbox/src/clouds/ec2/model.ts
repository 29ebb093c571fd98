// The EC2 service model (botocore service-2.json), read once per process; it is immutable.
import { readFileSync } from 'node:fs';
import { locateSpec } from '../common/support.js';

export interface MemberRef {
  shape: string;
  locationName?: string;
  queryName?: string;
}

export interface Shape {
  type: 'structure' | 'list' | 'string' | 'integer' | 'long' | 'boolean' | 'timestamp' | 'double' | 'float' | 'blob' | 'map';
  members?: Record<string, MemberRef>;
  required?: string[];
  member?: MemberRef;
  enum?: string[];
  min?: number;
  max?: number;
  pattern?: string;
  flattened?: boolean;
  sensitive?: boolean;
}

export interface Operation {
  name: string;
  input?: { shape: string };
  output?: { shape: string };
}

export interface Ec2Model {
  metadata: { apiVersion: string; xmlNamespace: string; protocol: string };
  operations: Record<string, Operation>;
  shapes: Record<string, Shape>;
}

const cache = new Map<string, Ec2Model>();

export function loadEc2Model(explicitPath?: string): Ec2Model {
  const path = locateSpec('aws-ec2/service-2.json', explicitPath);
  let model = cache.get(path);
  if (!model) {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (!isModel(parsed) || parsed.metadata.protocol !== 'ec2') throw new Error(`${path} is not an EC2 service model`);
    model = parsed;
    cache.set(path, model);
  }
  return model;
}

function isModel(value: unknown): value is Ec2Model {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.metadata === 'object' && typeof record.operations === 'object' && typeof record.shapes === 'object';
}

export function shapeOf(model: Ec2Model, name: string): Shape {
  const shape = model.shapes[name];
  if (!shape) throw new Error(`EC2 model has no shape ${name}`);
  return shape;
}

/** The EC2 query protocol names a member by queryName, else capitalised locationName, else the member name. */
export function queryNameOf(memberName: string, member: MemberRef): string {
  if (member.queryName) return member.queryName;
  if (member.locationName) return member.locationName.charAt(0).toUpperCase() + member.locationName.slice(1);
  return memberName;
}
