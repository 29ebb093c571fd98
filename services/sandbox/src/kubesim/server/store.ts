import { randomUUID } from 'node:crypto';
import type { KubeObject, ObjectReader, UserInfo } from '../contracts.js';
import { recordUpdate, serverSideApply } from '../apply/managed-fields.js';
import { clone, deepEqual, jsonPatch, mergePatch } from '../patch/json.js';
import { strategicMergePatch } from '../patch/strategic.js';
import { findResourceByPlural, groupVersion, qualifiedResource, RESOURCES, storageKey, storagePrefix, type ResourceInfo } from '../registry/resources.js';
import { StorageError, type Storage } from '../storage/types.js';
import { decodeTypeErrors, immutableErrors, nameErrors, schemaErrors, semanticErrors, unknownFields } from '../validation/validate.js';
import { allocateServiceAddresses, type ServiceRanges } from './allocator.js';
import { ApiError, errors, fieldError, type StatusCause } from './errors.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.js';
import {
  applyDefaults,
  generationKinds,
  generationOnAnyChange,
  normalizeSecret,
  prepareForCreate,
  restrictUpdate,
  secretTypeErrors,
  specOf,
} from './strategies.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface RequestContext {
  user: UserInfo;
  fieldManager: string;
  fieldValidation: FieldValidation;
  dryRun: boolean;
  warnings: string[];
  /** Set by an apply that created the object (answered 201). */
  created?: boolean;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continueToken?: string;
}

export interface DeleteOptions {
  propagationPolicy?: string;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  orphanDependents?: boolean;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

const generateNameAlphabet = 'bcdfghjklmnpqrstvwxz2456789';
const GENERATE_NAME_ATTEMPTS = 8;

function generatedName(prefix: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i += 1) suffix += generateNameAlphabet[Math.floor(Math.random() * generateNameAlphabet.length)];
  return `${prefix}${suffix}`;
}

function timestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function target(info: ResourceInfo, name?: string): { group: string; resource: string; name?: string } {
  return { group: info.group, resource: info.plural, name };
}

function decodeContinue(token: string): { key: string; revision: number } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString()) as { start?: unknown; rv?: unknown };
    if (typeof parsed.start !== 'string' || typeof parsed.rv !== 'number') throw new Error('bad token');
    return { key: parsed.start, revision: parsed.rv };
  } catch {
    throw errors.badRequest('continue key is not valid: illegal base64 data at input byte 0');
  }
}

/** Registries whose PUT creates a missing object (AllowCreateOnUpdate). */
const ALLOW_CREATE_ON_UPDATE = new Set(['Service', 'Endpoints', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding', 'Lease']);

/** An admission check run on the final object of a create or update, before it is stored. */
export type AdmissionCheck = (info: ResourceInfo, object: KubeObject, old: KubeObject | undefined, ctx: RequestContext) => Promise<void>;

/** The generic registry (k8s.io/apiserver/pkg/registry/generic/registry.Store) over a Storage. */
export class ObjectStore implements ObjectReader {
  readonly admission: AdmissionCheck[] = [];

  constructor(
    readonly storage: Storage,
    private readonly ranges: ServiceRanges,
  ) {}

  // ObjectReader for authenticators and authorizers.
  async get(group: string, resource: string, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    const info = findResourceByPlural(group, resource);
    if (!info) return undefined;
    return this.storage.get(storageKey(info, namespace, name));
  }

  async list(group: string, resource: string, namespace?: string): Promise<KubeObject[]> {
    const info = findResourceByPlural(group, resource);
    if (!info) return [];
    return (await this.storage.list(storagePrefix(info, namespace))).items;
  }

  async read(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject> {
    const found = await this.storage.get(storageKey(info, namespace, name));
    if (!found) throw errors.notFound(target(info, name));
    return found;
  }

  async listObjects(
    info: ResourceInfo,
    namespace: string | undefined,
    options: ListOptions,
  ): Promise<{ items: KubeObject[]; resourceVersion: string; continueToken?: string; remaining?: number }> {
    const labels = parseLabelSelector(options.labelSelector ?? '');
    const fields = parseFieldSelector(options.fieldSelector ?? '', info.fieldLabels, info.plural);
    const prefix = storagePrefix(info, namespace);
    let afterKey: string | undefined;
    let revision: number | undefined;
    if (options.continueToken) ({ key: afterKey, revision } = decodeContinue(options.continueToken));
    const limit = options.limit && options.limit > 0 ? options.limit : undefined;
    const items: KubeObject[] = [];
    let listRevision = revision;
    let more: boolean;
    // Selectors filter after reading, so keep reading pages until the limit is met.
    for (;;) {
      const page = await this.storage.list(prefix, { afterKey, limit: limit ? limit - items.length : undefined, revision }).catch((error: unknown) => {
        if (error instanceof StorageError && error.code === 'Expired') {
          throw errors.gone(
            'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
          );
        }
        throw error;
      });
      listRevision ??= page.revision;
      for (const item of page.items) if (matchesLabels(labels, item.metadata.labels) && matchesFields(fields, item)) items.push(item);
      more = page.more;
      if (page.items.length > 0) {
        const last = page.items[page.items.length - 1];
        afterKey = storageKey(info, last.metadata.namespace, last.metadata.name as string);
      }
      if (!limit || !more || items.length >= limit) break;
    }
    const result: { items: KubeObject[]; resourceVersion: string; continueToken?: string; remaining?: number } = {
      items,
      resourceVersion: String(listRevision),
    };
    if (limit && more && afterKey) {
      result.continueToken = Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: listRevision, start: afterKey })).toString('base64url');
      // Like etcd's count, the apiserver tells how many items are left only when no selector filters them.
      if (!options.labelSelector && !options.fieldSelector)
        result.remaining = (await this.storage.list(prefix, { afterKey, revision: listRevision })).items.length;
    }
    return result;
  }

  private async checkNamespace(info: ResourceInfo, namespace: string | undefined, name: string): Promise<void> {
    if (!info.namespaced || !namespace) return;
    const ns = await this.storage.get(storageKey(RESOURCES[0], undefined, namespace));
    if (!ns) throw errors.notFound({ group: '', resource: 'namespaces', name: namespace });
    if (ns.metadata.deletionTimestamp || (ns.status as { phase?: string } | undefined)?.phase === 'Terminating') {
      throw new ApiError(
        403,
        'Forbidden',
        `${qualifiedResource(info)} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
        {
          name,
          group: info.group,
          kind: info.plural,
          causes: [{ type: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }],
        },
      );
    }
  }

  /** Decoding checks: kind/apiVersion, unknown fields (Strict → 400, Warn → warning). */
  decode(info: ResourceInfo, body: unknown, ctx: RequestContext): KubeObject {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw errors.badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
    const object = clone(body) as KubeObject;
    object.apiVersion ??= groupVersion(info);
    object.kind ??= info.kind;
    if (object.kind !== info.kind || object.apiVersion !== groupVersion(info)) {
      throw errors.badRequest(
        `the API version in the data (${object.apiVersion}) does not match the expected API version (${groupVersion(info)})${object.kind !== info.kind ? ` or kind (${object.kind} vs ${info.kind})` : ''}`,
      );
    }
    object.metadata = object.metadata && typeof object.metadata === 'object' ? object.metadata : {};
    const unknown = unknownFields(info, object, true);
    if (unknown.length > 0 && ctx.fieldValidation === 'Strict') {
      throw errors.badRequest(`strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`);
    }
    if (ctx.fieldValidation === 'Warn') for (const f of unknown) ctx.warnings.push(`unknown field "${f}"`);
    if (info.kind === 'Secret') normalizeSecret(object);
    return object;
  }

  /** A request body that would not decode into the Go types (a value of the wrong JSON type) is a 400. */
  private decodeBody(info: ResourceInfo, body: unknown, ctx: RequestContext): KubeObject {
    const object = this.decode(info, body, ctx);
    const wrong = decodeTypeErrors(info, object);
    if (wrong.length > 0) throw errors.badRequest(`unable to decode the request body: ${wrong.join(', ')}`);
    return object;
  }

  private validate(info: ResourceInfo, object: KubeObject, old: KubeObject | undefined): StatusCause[] {
    const causes = [...schemaErrors(info, object)];
    if (!object.metadata.name) causes.push(fieldError('FieldValueRequired', 'metadata.name', 'name or generateName is required'));
    else causes.push(...nameErrors(info.nameRule, object.metadata.name));
    if (info.namespaced && !object.metadata.namespace) causes.push(fieldError('FieldValueRequired', 'metadata.namespace', ''));
    causes.push(...semanticErrors(info, object));
    if (info.kind === 'Secret') causes.push(...secretTypeErrors(object));
    if (old) causes.push(...immutableErrors(info, old, object));
    const controllers = (object.metadata.ownerReferences ?? []).filter((r) => r.controller === true);
    if (controllers.length > 1) {
      causes.push(
        fieldError(
          'FieldValueInvalid',
          'metadata.ownerReferences',
          `Only one reference can have Controller set to true. Found "true" in references for ${controllers.map((c) => `${c.kind}/${c.name}`).join(' and ')}`,
          object.metadata.ownerReferences,
        ),
      );
    }
    if (old?.metadata.deletionTimestamp) {
      const added = (object.metadata.finalizers ?? []).filter((f) => !(old.metadata.finalizers ?? []).includes(f));
      if (added.length > 0)
        causes.push(
          fieldError(
            'FieldValueForbidden',
            'metadata.finalizers',
            `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`,
          ),
        );
    }
    return causes;
  }

  private throwIfInvalid(info: ResourceInfo, object: KubeObject, causes: StatusCause[]): void {
    if (causes.length > 0) throw errors.invalid(info.group, info.kind, object.metadata.name ?? '', causes);
  }

  private async allocate(info: ResourceInfo, object: KubeObject, old: KubeObject | undefined): Promise<void> {
    if (info.kind !== 'Service') return;
    const services = (await this.storage.list('/registry/services/')).items.filter(
      (s) => !(s.metadata.namespace === object.metadata.namespace && s.metadata.name === object.metadata.name),
    );
    const causes = allocateServiceAddresses(object, old, services, this.ranges);
    this.throwIfInvalid(info, object, causes);
  }

  async create(info: ResourceInfo, namespace: string | undefined, body: unknown, ctx: RequestContext, applied?: { force: boolean }): Promise<KubeObject> {
    const object = applied ? this.decode(info, body, ctx) : this.decodeBody(info, body, ctx);
    if (info.namespaced) {
      if (object.metadata.namespace && namespace && object.metadata.namespace !== namespace) {
        throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      object.metadata.namespace = namespace ?? object.metadata.namespace;
    } else delete object.metadata.namespace;
    if (object.metadata.resourceVersion && !applied) throw errors.badRequest('resourceVersion should not be set on objects to be created');
    const generatedFrom = object.metadata.name ? undefined : object.metadata.generateName;
    if (generatedFrom) object.metadata.name = generatedName(generatedFrom);
    await this.checkNamespace(info, object.metadata.namespace, object.metadata.name ?? '');
    let created: KubeObject = object;
    if (applied) {
      created = serverSideApply(undefined, object, ctx.fieldManager, applied.force, undefined, !info.subresources.includes('status'));
    }
    created.metadata.uid = randomUUID();
    created.metadata.creationTimestamp = timestamp();
    delete created.metadata.resourceVersion;
    delete created.metadata.deletionTimestamp;
    delete created.metadata.deletionGracePeriodSeconds;
    if (generationKinds.has(info.kind)) created.metadata.generation = 1;
    else delete created.metadata.generation;
    prepareForCreate(created, ctx.user);
    applyDefaults(created);
    const causes = this.validate(info, created, undefined);
    this.throwIfInvalid(info, created, causes);
    await this.allocate(info, created, undefined);
    for (const check of this.admission) await check(info, created, undefined, ctx);
    if (!applied) created.metadata.managedFields = recordUpdate(undefined, created, ctx.fieldManager, undefined, !info.subresources.includes('status'));
    if (ctx.dryRun) return created;
    // Since RetryGenerateName went GA (1.32) the apiserver draws a new suffix when a generated
    // name is taken, up to 8 attempts, instead of answering 409 for a name the client never chose.
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.storage.create(storageKey(info, created.metadata.namespace, created.metadata.name as string), created);
      } catch (error) {
        if (!(error instanceof StorageError && error.code === 'AlreadyExists')) throw error;
        if (!generatedFrom || attempt >= GENERATE_NAME_ATTEMPTS) throw errors.alreadyExists(target(info, created.metadata.name));
        created.metadata.name = generatedName(generatedFrom);
      }
    }
  }

  /**
   * Writes `candidate` over `old` (the object read at old.metadata.resourceVersion).
   * A resourceVersion in the candidate that differs from the stored one is a 409.
   */
  async commitUpdate(
    info: ResourceInfo,
    old: KubeObject,
    candidateInput: KubeObject,
    ctx: RequestContext,
    subresource: string,
    managed?: KubeObject['metadata']['managedFields'],
  ): Promise<KubeObject> {
    const name = old.metadata.name;
    if (name === undefined) throw new Error('a stored object has no metadata.name');
    if (candidateInput.metadata.name !== undefined && candidateInput.metadata.name !== name) {
      throw errors.badRequest(`the name of the object (${candidateInput.metadata.name}) does not match the name on the URL (${name})`);
    }
    if (info.namespaced && candidateInput.metadata.namespace && candidateInput.metadata.namespace !== old.metadata.namespace) {
      throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    if (candidateInput.metadata.resourceVersion && candidateInput.metadata.resourceVersion !== old.metadata.resourceVersion) {
      throw errors.conflict(target(info, name));
    }
    if (candidateInput.metadata.uid && candidateInput.metadata.uid !== old.metadata.uid) {
      throw errors.conflict(
        target(info, name),
        `Precondition failed: UID in precondition: ${candidateInput.metadata.uid}, UID in object meta: ${old.metadata.uid}`,
      );
    }
    const hasStatus = info.subresources.includes('status');
    const next = restrictUpdate(info.kind, subresource, hasStatus, old, clone(candidateInput));
    next.metadata = {
      ...next.metadata,
      name,
      uid: old.metadata.uid,
      creationTimestamp: old.metadata.creationTimestamp,
      ...(info.namespaced ? { namespace: old.metadata.namespace } : {}),
    };
    if (!info.namespaced) delete next.metadata.namespace;
    if (old.metadata.deletionTimestamp) {
      next.metadata.deletionTimestamp = old.metadata.deletionTimestamp;
      next.metadata.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
    } else {
      delete next.metadata.deletionTimestamp;
      delete next.metadata.deletionGracePeriodSeconds;
    }
    if (generationKinds.has(info.kind)) {
      const generation = old.metadata.generation ?? 1;
      const changed = generationOnAnyChange.has(info.kind)
        ? !deepEqual(
            { ...next, metadata: { ...next.metadata, resourceVersion: undefined, managedFields: undefined, generation: undefined } },
            { ...old, metadata: { ...old.metadata, resourceVersion: undefined, managedFields: undefined, generation: undefined } },
          )
        : !deepEqual(specOf(old), specOf(next));
      next.metadata.generation = subresource === '' && changed ? generation + 1 : generation;
    } else delete next.metadata.generation;
    if (info.kind === 'Secret' && next.stringData !== undefined) normalizeSecret(next);
    applyDefaults(next);
    const causes = this.validate(info, next, old);
    this.throwIfInvalid(info, next, causes);
    await this.allocate(info, next, old);
    for (const check of this.admission) await check(info, next, old, ctx);
    next.metadata.managedFields = managed ?? recordUpdate(old, next, ctx.fieldManager, subresource === '' ? undefined : subresource, !hasStatus);

    const unchanged = deepEqual(
      { ...next, metadata: { ...next.metadata, resourceVersion: undefined, managedFields: undefined } },
      { ...old, metadata: { ...old.metadata, resourceVersion: undefined, managedFields: undefined } },
    );
    if (unchanged) return old;
    if (ctx.dryRun) return next;
    const key = storageKey(info, old.metadata.namespace, name);
    const revision = Number(old.metadata.resourceVersion);
    try {
      if (this.readyToRemove(info, next)) {
        // The answer is the object as the update left it (finalizers gone), at the deletion's revision.
        const removed = await this.storage.delete(key, revision);
        return { ...next, metadata: { ...next.metadata, resourceVersion: removed.metadata.resourceVersion } };
      }
      return await this.storage.update(key, next, revision);
    } catch (error) {
      if (error instanceof StorageError && error.code === 'Conflict') throw errors.conflict(target(info, name));
      if (error instanceof StorageError && error.code === 'NotFound') throw errors.notFound(target(info, name));
      throw error;
    }
  }

  private readyToRemove(info: ResourceInfo, object: KubeObject): boolean {
    if (!object.metadata.deletionTimestamp || (object.metadata.finalizers ?? []).length > 0) return false;
    if (info.kind === 'Namespace') return ((object.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []).length === 0;
    // Pods wait for the kubelet's delete with grace period 0.
    if (info.kind === 'Pod') return (object.metadata.deletionGracePeriodSeconds ?? 0) === 0;
    return true;
  }

  async update(info: ResourceInfo, namespace: string | undefined, name: string, body: unknown, ctx: RequestContext, subresource: string): Promise<KubeObject> {
    const candidate = this.decodeBody(info, body, ctx);
    if (subresource === '' && ALLOW_CREATE_ON_UPDATE.has(info.kind) && !(await this.storage.get(storageKey(info, namespace, name)))) {
      if (candidate.metadata.name !== undefined && candidate.metadata.name !== name)
        throw errors.badRequest(`the name of the object (${candidate.metadata.name}) does not match the name on the URL (${name})`);
      const created = await this.create(info, namespace, { ...candidate, metadata: { ...candidate.metadata, name, resourceVersion: undefined } }, ctx);
      ctx.created = true;
      return created;
    }
    const old = await this.read(info, namespace, name);
    if (!candidate.metadata.name) throw errors.badRequest('name is required');
    return this.commitUpdate(info, old, candidate, ctx, subresource);
  }

  async patch(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    body: unknown,
    ctx: RequestContext,
    subresource: string,
    force: boolean,
  ): Promise<KubeObject> {
    for (let attempt = 0; ; attempt += 1) {
      const old = await this.storage.get(storageKey(info, namespace, name));
      try {
        if (!old) {
          if (type === 'apply' && subresource === '') {
            const applied = this.decode(info, body, ctx);
            if (applied.metadata.name !== name)
              throw errors.badRequest(`the name of the object (${applied.metadata.name ?? ''}) does not match the name on the URL (${name})`);
            const created = await this.create(info, namespace, applied, ctx, { force });
            ctx.created = true;
            return created;
          }
          throw errors.notFound(target(info, name));
        }
        let candidate: KubeObject;
        let managed: KubeObject['metadata']['managedFields'];
        switch (type) {
          case 'json':
            candidate = jsonPatch(old, body) as KubeObject;
            break;
          case 'merge':
            if (!body || typeof body !== 'object' || Array.isArray(body))
              throw errors.badRequest('json: cannot unmarshal array into Go value of type map[string]interface {}');
            candidate = mergePatch(old, body) as KubeObject;
            break;
          case 'strategic':
            if (!body || typeof body !== 'object' || Array.isArray(body))
              throw errors.badRequest('json: cannot unmarshal array into Go value of type map[string]interface {}');
            candidate = strategicMergePatch(old, body) as KubeObject;
            break;
          case 'apply': {
            const applied = this.decode(info, body, ctx);
            if (applied.metadata.name !== name)
              throw errors.badRequest(`the name of the object (${applied.metadata.name ?? ''}) does not match the name on the URL (${name})`);
            if (info.namespaced && applied.metadata.namespace && applied.metadata.namespace !== namespace)
              throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
            candidate = serverSideApply(
              old,
              applied,
              ctx.fieldManager,
              force,
              subresource === '' ? undefined : subresource,
              !info.subresources.includes('status'),
            );
            candidate.metadata.resourceVersion = applied.metadata.resourceVersion ?? old.metadata.resourceVersion;
            managed = candidate.metadata.managedFields;
            break;
          }
        }
        if (type !== 'apply') candidate = this.decode(info, candidate, ctx);
        return await this.commitUpdate(info, old, candidate, ctx, subresource, managed);
      } catch (error) {
        const patchedVersion = error instanceof ApiError && error.reason === 'Conflict' && !error.details?.causes;
        if (patchedVersion && attempt < 4 && !JSON.stringify(body).includes('"resourceVersion"')) continue;
        throw error;
      }
    }
  }

  async delete(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions,
    ctx: RequestContext,
  ): Promise<{ object: KubeObject; deleted: boolean }> {
    if (info.kind === 'Namespace' && ['default', 'kube-system', 'kube-public'].includes(name)) {
      // The NamespaceLifecycle admission plugin keeps the system namespaces.
      throw new ApiError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, { name, group: '', kind: 'namespaces' });
    }
    for (let attempt = 0; ; attempt += 1) {
      const old = await this.read(info, namespace, name);
      const pre = options.preconditions ?? {};
      // Precondition failures name the kind, not the resource, in details.kind.
      const preconditionTarget = { ...target(info, name), resource: info.kind };
      if (pre.uid && pre.uid !== old.metadata.uid)
        throw new ApiError(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${info.group ? `${info.plural}.${info.group}` : info.plural} "${name}": Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`,
          { name, group: info.group, kind: info.kind },
        );
      if (pre.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
        throw errors.conflict(
          preconditionTarget,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`,
        );
      }
      const next = clone(old);
      const finalizers = new Set(next.metadata.finalizers ?? []);
      const policy =
        options.propagationPolicy ?? (options.orphanDependents === true ? 'Orphan' : options.orphanDependents === false ? 'Background' : undefined);
      if (policy && !['Orphan', 'Background', 'Foreground'].includes(policy)) {
        throw errors.invalid('meta.k8s.io', 'DeleteOptions', '', [
          fieldError('FieldValueNotSupported', 'propagationPolicy', 'supported values: "Foreground", "Background", "Orphan", "nil"', policy),
        ]);
      }
      if (policy === 'Foreground') {
        finalizers.delete('orphan');
        finalizers.add('foregroundDeletion');
      } else if (policy === 'Orphan') {
        finalizers.delete('foregroundDeletion');
        finalizers.add('orphan');
      } else if (policy === 'Background') {
        finalizers.delete('orphan');
        finalizers.delete('foregroundDeletion');
      }
      next.metadata.finalizers = [...finalizers];
      if (next.metadata.finalizers.length === 0) delete next.metadata.finalizers;
      let graceful = false;
      if (info.kind === 'Namespace') {
        next.status = { ...(next.status as object), phase: 'Terminating' };
        graceful = ((next.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []).length > 0;
      } else if (info.kind === 'Pod') {
        const spec = next.spec as { nodeName?: string; terminationGracePeriodSeconds?: number };
        const phase = (next.status as { phase?: string } | undefined)?.phase;
        const grace = options.gracePeriodSeconds ?? old.metadata.deletionGracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30;
        graceful = !!spec.nodeName && grace > 0 && phase !== 'Succeeded' && phase !== 'Failed';
        next.metadata.deletionGracePeriodSeconds = graceful ? grace : 0;
      }
      const pending = graceful || finalizers.size > 0;
      if (ctx.dryRun) return { object: next, deleted: !pending };
      const key = storageKey(info, namespace, name);
      try {
        if (!pending) {
          const removed = await this.storage.delete(key, Number(old.metadata.resourceVersion));
          // A pod's deletion is a spec-level change: the answered object carries the next generation.
          if (info.kind === 'Pod') {
            removed.metadata.generation = (removed.metadata.generation ?? 1) + 1;
            // BeforeDelete stamps a pod deleted with grace period 0 before it goes: the answer shows it.
            removed.metadata.deletionTimestamp ??= new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
            removed.metadata.deletionGracePeriodSeconds ??= 0;
          }
          return { object: removed, deleted: true };
        }
        if (!next.metadata.deletionTimestamp) {
          const graceSeconds = info.kind === 'Pod' ? (next.metadata.deletionGracePeriodSeconds ?? 0) : 0;
          next.metadata.deletionTimestamp = new Date(Date.now() + graceSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
          if (info.kind !== 'Pod' && info.kind !== 'Namespace') next.metadata.deletionGracePeriodSeconds = 0;
        }
        if (deepEqual(next, old)) return { object: old, deleted: false };
        if (generationKinds.has(info.kind)) next.metadata.generation = (old.metadata.generation ?? 1) + 1;
        const updated = await this.storage.update(key, next, Number(old.metadata.resourceVersion));
        return { object: updated, deleted: false };
      } catch (error) {
        if (error instanceof StorageError && error.code === 'Conflict' && attempt < 4) continue;
        if (error instanceof StorageError && error.code === 'NotFound') throw errors.notFound(target(info, name));
        throw error;
      }
    }
  }
}
