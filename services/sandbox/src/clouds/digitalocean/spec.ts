// The DigitalOcean OpenAPI document, parsed once per process, with validators compiled lazily
// per operation (the document is ~3 MB and describes hundreds of operations we never serve).
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';
import { locateSpec } from '../common/support.js';
import { scalarText } from '../../text.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = Record<string, Json>;

export interface SpecOperation {
  operationId: string;
  method: string;
  pathTemplate: string;
  pointer: string;
  parameters: Array<{ name: string; in: string; required: boolean; schemaPointer: string }>;
  requestBody?: { required: boolean; schemaPointer?: string };
}

export interface RouteMatch {
  operation: SpecOperation;
  pathParams: Record<string, string>;
}

export type RouteResult = { kind: 'matched'; match: RouteMatch } | { kind: 'no-path' } | { kind: 'no-method'; allowed: string[] };

const SCHEMA_ID = 'digitalocean-openapi';
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head'];
// OpenAPI's numeric and binary formats carry no constraint JSON Schema can check beyond `type`.
const OPEN_FORMATS = ['int32', 'int64', 'uint32', 'uint64', 'float', 'double', 'byte', 'binary', 'string', 'rfc5424', 'rfc3164', 'cidr'];

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export class DigitalOceanSpec {
  private readonly routes: Array<{ template: string; regex: RegExp; names: string[]; literalCount: number }>;
  private readonly strictAjv: Ajv;
  private readonly coercingAjv: Ajv;
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(private readonly document: JsonObject) {
    const paths = asObject(document.paths, 'paths');
    this.routes = Object.keys(paths)
      .map((template) => {
        const names: string[] = [];
        const source = template
          .split('/')
          .map((segment) => {
            const param = /^\{([^}]+)\}$/.exec(segment);
            if (param) {
              names.push(param[1]);
              return '([^/]+)';
            }
            return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
          })
          .join('/');
        return { template, regex: new RegExp(`^${source}/?$`), names, literalCount: template.split('/').length - names.length };
      })
      .sort((a, b) => b.literalCount - a.literalCount);
    this.strictAjv = this.createAjv(false);
    this.coercingAjv = this.createAjv(true);
  }

  private createAjv(coerceTypes: boolean): Ajv {
    // The spec's patterns are written for non-unicode regular expressions (`\:` is an invalid escape in u mode).
    const ajv = new Ajv({ strict: false, allErrors: false, coerceTypes, validateSchema: false, logger: false, unicodeRegExp: false });
    addFormats(ajv);
    for (const format of OPEN_FORMATS) ajv.addFormat(format, true);
    ajv.addSchema(this.document, SCHEMA_ID);
    return ajv;
  }

  route(method: string, path: string): RouteResult {
    const paths = asObject(this.document.paths, 'paths');
    let pathMatched = false;
    for (const route of this.routes) {
      const match = route.regex.exec(path);
      if (!match) continue;
      pathMatched = true;
      const item = asObject(paths[route.template], route.template);
      const lower = method.toLowerCase();
      if (!(lower in item)) continue;
      const pathParams: Record<string, string> = {};
      route.names.forEach((name, index) => (pathParams[name] = decodeURIComponent(match[index + 1])));
      return { kind: 'matched', match: { operation: this.operation(route.template, lower), pathParams } };
    }
    if (!pathMatched) return { kind: 'no-path' };
    const allowed = this.routes
      .filter((route) => route.regex.test(path))
      .flatMap((route) => Object.keys(asObject(paths[route.template], route.template)).filter((key) => METHODS.includes(key)))
      .map((key) => key.toUpperCase());
    return { kind: 'no-method', allowed: [...new Set(allowed)] };
  }

  private operation(template: string, method: string): SpecOperation {
    const pointer = `/paths/${escapePointer(template)}/${method}`;
    const raw = asObject(this.at(pointer), pointer);
    const parameters = (Array.isArray(raw.parameters) ? raw.parameters : []).map((_, index) => {
      const { value, pointer: parameterPointer } = this.resolve(`${pointer}/parameters/${index}`);
      const parameter = asObject(value, parameterPointer);
      return {
        name: scalarText(parameter.name),
        in: scalarText(parameter.in),
        required: parameter.required === true,
        schemaPointer: `${parameterPointer}/schema`,
      };
    });
    let requestBody: SpecOperation['requestBody'];
    if (raw.requestBody !== undefined) {
      const { value, pointer: bodyPointer } = this.resolve(`${pointer}/requestBody`);
      const body = asObject(value, bodyPointer);
      const content = asObject(body.content ?? {}, `${bodyPointer}/content`);
      requestBody = {
        required: body.required === true,
        schemaPointer: content['application/json'] !== undefined ? `${bodyPointer}/content/application~1json/schema` : undefined,
      };
    }
    return { operationId: scalarText(raw.operationId), method: method.toUpperCase(), pathTemplate: template, pointer, parameters, requestBody };
  }

  /** Validates one request parameter, coercing the string the way the server would parse it. */
  validateParameter(schemaPointer: string, raw: string): { value: unknown; errors?: string } {
    const validate = this.validator(`param:${schemaPointer}`, () =>
      this.coercingAjv.compile({ type: 'object', properties: { value: { $ref: `${SCHEMA_ID}#${schemaPointer}` } } }),
    );
    const holder: { value: unknown } = { value: raw };
    if (validate(holder)) return { value: holder.value };
    return { value: raw, errors: describe(validate.errors) };
  }

  validateRequestBody(schemaPointer: string, body: unknown): string | undefined {
    const validate = this.validator(`body:${schemaPointer}`, () => this.strictAjv.compile({ $ref: `${SCHEMA_ID}#${schemaPointer}` }));
    return validate(body) ? undefined : describe(validate.errors);
  }

  /**
   * Checks a response the simulator is about to send against the documented response for that
   * status (or `default`). Returns a description of the violation, or undefined when it conforms.
   */
  validateResponse(operation: SpecOperation, status: number, headers: Record<string, string>, body: unknown): string | undefined {
    const responses = asObject(this.at(`${operation.pointer}/responses`), 'responses');
    const key = String(status) in responses ? String(status) : 'default' in responses ? 'default' : undefined;
    if (!key) return `status ${status} is not documented for ${operation.operationId}`;
    const { value, pointer } = this.resolve(`${operation.pointer}/responses/${key}`);
    const response = asObject(value, pointer);
    const declaredHeaders = asObject(response.headers ?? {}, `${pointer}/headers`);
    for (const name of Object.keys(declaredHeaders)) {
      if (name === 'content-type') continue;
      if (headers[name] === undefined) return `${operation.operationId} ${status}: header ${name} is missing`;
      const { pointer: headerPointer } = this.resolve(`${pointer}/headers/${escapePointer(name)}`);
      const result = this.validateParameter(`${headerPointer}/schema`, headers[name]);
      if (result.errors) return `${operation.operationId} ${status}: header ${name} ${result.errors}`;
    }
    const content = response.content === undefined ? undefined : asObject(response.content, `${pointer}/content`);
    if (!content) return body === undefined ? undefined : `${operation.operationId} ${status}: the spec documents no body`;
    if (content['application/json'] === undefined) return `${operation.operationId} ${status}: no JSON body documented`;
    if (body === undefined) return `${operation.operationId} ${status}: a JSON body is required`;
    const schemaPointer = `${pointer}/content/application~1json/schema`;
    const validate = this.validator(`response:${schemaPointer}`, () => this.strictAjv.compile({ $ref: `${SCHEMA_ID}#${schemaPointer}` }));
    return validate(body) ? undefined : `${operation.operationId} ${status}: ${describe(validate.errors)}`;
  }

  private validator(key: string, compile: () => ValidateFunction): ValidateFunction {
    let validate = this.validators.get(key);
    if (!validate) {
      validate = compile();
      this.validators.set(key, validate);
    }
    return validate;
  }

  private at(pointer: string): Json {
    let node: Json = this.document;
    for (const raw of pointer.split('/').slice(1)) {
      const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
      if (node === null || typeof node !== 'object') throw new Error(`bad pointer ${pointer}`);
      node = Array.isArray(node) ? node[Number(segment)] : node[segment];
      if (node === undefined) throw new Error(`pointer ${pointer} does not resolve`);
    }
    return node;
  }

  /** Follows `$ref`s of non-schema objects (parameters, responses, request bodies, headers). */
  private resolve(pointer: string): { value: Json; pointer: string } {
    let current = pointer;
    for (let hops = 0; hops < 10; hops++) {
      const value = this.at(current);
      if (value && typeof value === 'object' && !Array.isArray(value) && typeof value.$ref === 'string') {
        if (!value.$ref.startsWith('#/')) throw new Error(`external $ref ${value.$ref} is not supported`);
        current = value.$ref.slice(1);
        continue;
      }
      return { value, pointer: current };
    }
    throw new Error(`$ref chain too long at ${pointer}`);
  }
}

let loaded: { path: string; spec: DigitalOceanSpec } | undefined;

export function loadDigitalOceanSpec(explicitPath?: string): DigitalOceanSpec {
  const path = locateSpec('digitalocean/openapi.yaml', explicitPath);
  if (loaded?.path !== path) {
    const document: unknown = parse(readFileSync(path, 'utf8'), { maxAliasCount: -1 });
    if (!document || typeof document !== 'object' || Array.isArray(document) || !('paths' in document)) throw new Error(`${path} is not an OpenAPI document`);
    loaded = { path, spec: new DigitalOceanSpec(document as JsonObject) };
  }
  return loaded.spec;
}

function asObject(value: Json | undefined, where: string): JsonObject {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${where} is not an object`);
  return value;
}

function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

function describe(errors: ErrorObject[] | null | undefined): string {
  const first = errors?.[0];
  if (!first) return 'is invalid';
  return `${first.instancePath || '(body)'} ${first.message ?? 'is invalid'}`.trim();
}
