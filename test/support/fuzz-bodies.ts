// Request bodies for the fuzzer (test/api/fuzz.test.ts), derived from the product's own zod
// request schemas: a schema becomes JSON Schema (zod's own z.toJSONSchema, the same one the
// OpenAPI document uses), and the JSON Schema becomes a fast-check arbitrary. Valid-shaped
// bodies come straight from it; hostile ones are those bodies with one thing broken, rendered
// as raw JSON text so that what JSON.stringify cannot write (1e400, a `__proto__` key) is sent.
import fc from 'fast-check';
import { z } from 'zod';

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  allOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  format?: string;
}

/** Values that only make sense in context (a credential that exists, a real SSH key), by property name. */
export type Hints = Record<string, fc.Arbitrary<unknown>>;

/** Generated strings stay short unless a test wants them huge: the product's bounds are tested by the hostile values. */
const STRING_CAP = 48;

export function bodyFromSchema(schema: z.ZodType, hints: Hints = {}): fc.Arbitrary<unknown> {
  return fromJsonSchema(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema, hints);
}

function fromJsonSchema(schema: JsonSchema, hints: Hints): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((alternative) => fromJsonSchema(alternative, hints)));
  switch (schema.type) {
    case 'object':
      return objectFrom(schema, hints);
    case 'array':
      return fc.array(fromJsonSchema(schema.items ?? {}, hints), { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 4, 4) });
    case 'string':
      return stringFrom(schema);
    case 'integer':
      return fc.integer({ min: Math.max(schema.minimum ?? -1_000_000, -1_000_000), max: Math.min(schema.maximum ?? 1_000_000, 1_000_000) });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true });
    case 'boolean':
      return fc.boolean();
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

function objectFrom(schema: JsonSchema, hints: Hints): fc.Arbitrary<unknown> {
  const properties = schema.properties ?? {};
  if (Object.keys(properties).length === 0 && typeof schema.additionalProperties === 'object') {
    // A map (labels): keys from propertyNames, values from additionalProperties.
    return fc.dictionary(stringFrom(schema.propertyNames ?? { type: 'string' }), fromJsonSchema(schema.additionalProperties, hints), { maxKeys: 4 });
  }
  const model = Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, hints[name] ?? fromJsonSchema(property, hints)]));
  return fc.record(model, { requiredKeys: schema.required ?? [] });
}

function stringFrom(schema: JsonSchema): fc.Arbitrary<string> {
  const max = Math.min(schema.maxLength ?? STRING_CAP, STRING_CAP);
  const min = Math.min(schema.minLength ?? 0, max);
  if (schema.format === 'uuid') return fc.uuid();
  if (schema.format === 'email') return fc.emailAddress();
  // A pattern the value must match: generate from it, then cut to the bound (the cut may break
  // the pattern, which the product then rejects: a rejection is a fine outcome too).
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern)).map((value) => value.slice(0, max));
  return fc.string({ unit: 'grapheme', minLength: min, maxLength: max });
}

/** A raw JSON token spliced into the serialised body where a placeholder string stands. */
const RAW = '\u0000raw:';
const raw = (token: string) => `${RAW}${Buffer.from(token).toString('base64')}`;

const hostileStrings: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '\ud800',
    'x\udc00y',
    '\ud83d',
    'invoice\u202efdp.exe',
    'a\u2066b',
    'a\u0085b',
    'a\u009bb',
    'a\u0000b',
    '\u200f',
    '<script>alert(1)</script>',
    "x'; drop table projects; --",
    '../../etc/passwd',
    '${jndi:ldap://x}',
    '{{7*7}}',
    'NaN',
    'Infinity',
    '-0',
    '1e400',
    'true',
    'null',
    '__proto__',
    'constructor',
    'ａｄｍｉｎ',
    'аdmin@exаmple.com',
    '\ufeff',
    '%00',
    '0'.repeat(40),
    '1.37.2; rm -rf /',
  ),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.integer({ min: 1_000, max: 300_000 }).map((length) => 'a'.repeat(length)),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }).map((text) => text.repeat(200)),
);

const hostileNumbers: fc.Arbitrary<unknown> = fc.constantFrom(
  raw('1e400'),
  raw('-1e400'),
  raw('-0'),
  raw('1E+2'),
  raw('0.0000001'),
  raw('123456789012345678901234567890'),
  -1,
  0,
  1.5,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  -Number.MAX_VALUE,
  'NaN',
  '3',
  '-0',
);

/**
 * Nested arrays or objects deep enough to hurt a recursive walker (JSON.parse copes), as raw
 * text: a deep value would overflow fast-check's own printing of a counterexample.
 */
const deepNesting: fc.Arbitrary<unknown> = fc
  .tuple(fc.integer({ min: 10, max: 5_000 }), fc.boolean())
  .map(([depth, asArrays]) => raw(asArrays ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`));

export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileStrings },
  { weight: 3, arbitrary: hostileNumbers },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, [], {}, [null], { '': '' }) },
  { weight: 1, arbitrary: deepNesting },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

const hostileKeys = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', ' ', 'admin', 'isAdmin', 'id', '\ud800', 'name\u0000', '$ne'),
  fc.string({ maxLength: 12 }),
);

export type Mutation =
  | { kind: 'replace'; at: number; value: unknown }
  | { kind: 'extra-key'; at: number; key: string; value: unknown }
  | { kind: 'drop'; at: number }
  | { kind: 'wrap'; as: 'array' | 'string' | 'nested' };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: hostileValue }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('extra-key' as const), at: fc.nat(), key: hostileKeys, value: hostileValue }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('wrap' as const), as: fc.constantFrom('array' as const, 'string' as const, 'nested' as const) }) },
);

type Json = null | boolean | number | string | Json[] | JsonObject;
interface JsonObject {
  [key: string]: Json;
}

/** The body with the mutation applied: `at` picks among every object (extra-key) or every value (replace, drop) of the tree. */
export function mutate(body: unknown, change: Mutation): unknown {
  if (change.kind === 'wrap') return change.as === 'array' ? [body] : change.as === 'string' ? JSON.stringify(body) : { body };
  const copy = structuredClone(body) as Json;
  const slots: Array<{ parent: Json[] | JsonObject; key: string | number }> = [];
  const objects: JsonObject[] = [];
  const walk = (node: Json): void => {
    if (Array.isArray(node)) {
      node.forEach((child, index) => {
        slots.push({ parent: node, key: index });
        walk(child);
      });
    } else if (node !== null && typeof node === 'object') {
      objects.push(node);
      for (const [key, child] of Object.entries(node)) {
        slots.push({ parent: node, key });
        walk(child);
      }
    }
  };
  walk(copy);
  if (change.kind === 'extra-key') {
    if (objects.length === 0) return copy;
    // defineProperty, not assignment: `__proto__` must become an own key that serialises.
    Object.defineProperty(objects[change.at % objects.length], change.key, { value: change.value, enumerable: true, configurable: true, writable: true });
    return copy;
  }
  if (slots.length === 0) return change.kind === 'replace' ? change.value : copy;
  const slot = slots[change.at % slots.length];
  if (change.kind === 'drop') {
    if (Array.isArray(slot.parent)) slot.parent.splice(Number(slot.key), 1);
    else Reflect.deleteProperty(slot.parent, slot.key);
  } else {
    Reflect.set(slot.parent, slot.key, change.value);
  }
  return copy;
}

/** JSON text of a body, with raw-token placeholders replaced by the token itself. */
export function serialise(body: unknown): string {
  const text = JSON.stringify(body) ?? '';
  return text.replace(/"\\u0000raw:([A-Za-z0-9+/=]*)"/g, (_, token: string) => Buffer.from(token, 'base64').toString());
}

/** How the body travels: content type and framing, mostly plain JSON. */
export type Transport =
  | { kind: 'json'; contentType: string }
  | { kind: 'text'; contentType: string | undefined; text: string }
  | { kind: 'bom' }
  | { kind: 'truncated'; keep: number }
  | { kind: 'duplicate-key' };

export const transport: fc.Arbitrary<Transport> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('json' as const),
      contentType: fc.constantFrom(
        'application/json',
        'application/json',
        'application/json',
        'application/json; charset=utf-8',
        'Application/JSON; Charset="UTF-8"',
        'application/merge-patch+json',
        'application/json; charset=iso-8859-1',
        'application/json; charset=utf-16le',
        'application/json; charset=nonsense',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('text' as const),
      contentType: fc.constantFrom('application/json', undefined, 'text/plain'),
      text: fc.oneof(
        fc.constantFrom('', ' ', 'null', '0', '"x"', '[]', '{', '}', '{"a":', '\u0000', '{}garbage', 'NaN', 'undefined', '{"name":"a"}{"name":"b"}'),
        fc.string({ unit: 'binary', maxLength: 40 }),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'bom' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncated' as const), keep: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'duplicate-key' as const }) },
);

/** The bytes and content type a request carries, from a body and the way it travels. */
export function encode(body: unknown, how: Transport): { text: string; contentType: string | undefined } {
  const json = serialise(body);
  switch (how.kind) {
    case 'json':
      return { text: json, contentType: how.contentType };
    case 'text':
      return { text: how.text, contentType: how.contentType };
    case 'bom':
      return { text: `\ufeff${json}`, contentType: 'application/json' };
    case 'truncated':
      return { text: json.slice(0, json.length === 0 ? 0 : how.keep % json.length), contentType: 'application/json' };
    case 'duplicate-key':
      // The last of two equal keys wins in JSON.parse: a validated-then-overwritten field must not slip through.
      return { text: json.startsWith('{') && json.length > 2 ? json.replace(/^\{("[^"]*"):/, '{$1:"shadowed",$1:') : json, contentType: 'application/json' };
  }
}
