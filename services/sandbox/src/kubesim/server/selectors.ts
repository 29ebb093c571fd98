import type { KubeObject } from '../contracts.js';
import { errors } from './errors.js';
import { scalarText } from '../../text.js';

type Requirement = { key: string; op: 'in' | 'notin'; values: string[] } | { key: string; op: 'exists' | '!exists' };

/** Parses a label selector the way k8s.io/apimachinery/pkg/labels does (=, ==, !=, in, notin, exists, !exists). */
export function parseLabelSelector(selector: string): Requirement[] {
  const requirements: Requirement[] = [];
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  if (current.trim() !== '' || parts.length > 0) parts.push(current);
  const keyPattern = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;
  const checkKey = (key: string): string => {
    if (!keyPattern.test(key)) throw errors.badRequest(`unable to parse requirement: invalid label key "${key}"`);
    return key;
  };
  const valuePattern = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
  const checkValues = (values: string[]): string[] => {
    for (const value of values)
      if (value.length > 63 || !valuePattern.test(value))
        throw errors.badRequest(
          `unable to parse requirement: values[0]: Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
        );
    return values;
  };
  for (const raw of parts) {
    const part = raw.trim();
    if (part === '') throw errors.badRequest(`unable to parse requirement: found '', expected: identifier`);
    let match: RegExpMatchArray | null;
    if ((match = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(part))) {
      requirements.push({ key: checkKey(match[1]), op: match[2] as 'in' | 'notin', values: checkValues(match[3].split(',').map((v) => v.trim())) });
    } else if ((match = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part))) {
      const op = match[2] === '!=' ? 'notin' : 'in';
      requirements.push({ key: checkKey(match[1]), op, values: checkValues([match[3]]) });
    } else if ((match = /^!\s*(\S+)$/.exec(part))) {
      requirements.push({ key: checkKey(match[1]), op: '!exists' });
    } else if ((match = /^(\S+)$/.exec(part))) {
      requirements.push({ key: checkKey(match[1]), op: 'exists' });
    } else {
      throw errors.badRequest(`unable to parse requirement: invalid label selector "${part}"`);
    }
  }
  return requirements;
}

export function matchesLabels(requirements: Requirement[], labels: Record<string, string> | undefined): boolean {
  const present = labels ?? {};
  return requirements.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(present, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case '!exists':
        return !has;
      case 'in':
        return has && r.values.includes(present[r.key]);
      case 'notin':
        return !has || !r.values.includes(present[r.key]);
    }
  });
}

/** A metav1.LabelSelector (matchLabels + matchExpressions) as used by PDBs, Deployments and Services. */
export function matchesLabelSelectorObject(selector: unknown, labels: Record<string, string> | undefined): boolean {
  if (!selector || typeof selector !== 'object') return false;
  const { matchLabels, matchExpressions } = selector as {
    matchLabels?: Record<string, string>;
    matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
  };
  const present = labels ?? {};
  for (const [k, v] of Object.entries(matchLabels ?? {})) if (present[k] !== v) return false;
  for (const e of matchExpressions ?? []) {
    const has = k8sHas(present, e.key);
    if (e.operator === 'In' && !(has && (e.values ?? []).includes(present[e.key]))) return false;
    if (e.operator === 'NotIn' && has && (e.values ?? []).includes(present[e.key])) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function k8sHas(labels: Record<string, string>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(labels, key);
}

interface FieldRequirement {
  field: string;
  value: string;
  negate: boolean;
}

export function parseFieldSelector(selector: string, supported: string[], _resource: string): FieldRequirement[] {
  if (selector.trim() === '') return [];
  return selector.split(',').map((part) => {
    const match = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/.exec(part.trim());
    if (!match) throw errors.badRequest(`invalid selector: '${selector}'; can't understand '${part}'`);
    const field = match[1].trim();
    if (field !== 'metadata.name' && field !== 'metadata.namespace' && !supported.includes(field)) {
      throw errors.badRequest(`field label not supported: ${field}`);
    }
    return { field, value: match[3].trim(), negate: match[2] === '!=' };
  });
}

function fieldValue(object: KubeObject, path: string): string {
  let current: unknown = object;
  for (const segment of path.split('.')) {
    if (current && typeof current === 'object') current = (current as Record<string, unknown>)[segment];
    else current = undefined;
  }
  if (current === undefined || current === null) {
    if (path === 'spec.unschedulable' || path === 'spec.hostNetwork') return 'false';
    return '';
  }
  return scalarText(current);
}

export function matchesFields(requirements: FieldRequirement[], object: KubeObject): boolean {
  return requirements.every((r) => {
    const actual = r.field === 'source' ? scalarText((object.source as { component?: unknown } | undefined)?.component ?? '') : fieldValue(object, r.field);
    return r.negate ? actual !== r.value : actual === r.value;
  });
}
