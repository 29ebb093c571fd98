// CloudDriver for DigitalOcean, on dots-wrapper. DigitalOcean has no idempotency token, so the
// driver looks the droplet up by its node tag before every create attempt (a retry after a lost
// response finds the droplet instead of making a second one) and, should two creates ever race,
// keeps the oldest droplet and deletes the rest.
//
// Why dots-wrapper and never digitalocean-js: digitalocean-js configures one module-global axios
// instance, so constructing a second client overwrites the first client's token and base URL and
// project A's next call goes out with project B's token (a cross-tenant leak). dots-wrapper's
// createApiClient builds its own axios instance per client (`axios.create({ baseURL, headers })`).
import { createHash } from 'node:crypto';
import { createApiClient, modules as dotsModules } from 'dots-wrapper';
import {
  type CloudDriver,
  type CloudInstance,
  type CloudInstanceState,
  type EnsureInstanceRequest,
  type InstanceRef,
  type InstanceSelector,
} from '../driver.js';
import { acquireRequestSlot, type CloudRequestBudget } from '../request-budget.js';
import { classifyDigitalOceanError } from './errors.js';
import { DIGITALOCEAN_USER_DATA_LIMIT_BYTES } from './provider.js';
import { UnrecoverableCloudError, withRetry, type RetryPolicy } from '../retry.js';

/** DigitalOcean tag prefixes (DO tags allow only letters, digits, `_`, `-` and `:`). */
export const DIGITALOCEAN_TAG_PREFIXES = {
  cluster: 'hm-cluster:',
  pool: 'hm-pool:',
  node: 'hm-node:',
} as const;

const TAG_ALPHABET = /^[a-zA-Z0-9_\-:]+$/;
const PAGE_SIZE = 200;

export interface DigitalOceanCredentials {
  token: string;
}

export interface DropletDriverOptions {
  /** API root without `/v2`, e.g. https://api.digitalocean.com (default) or a simulator URL. */
  endpoint?: string;
  retry: RetryPolicy;
  requestTimeoutMs?: number;
  rateLimiter?: CloudRequestBudget;
}

type DotsClient = ReturnType<typeof createApiClient>;

/** The droplet fields the driver reads (dots-wrapper's own type is looser than the API). */
interface DropletView {
  id: number;
  name: string;
  status: string;
  tags: string[];
  created_at: string;
  networks: { v4: Array<{ ip_address: string; type: string }> };
}

export class DropletDriver implements CloudDriver {
  readonly provider = 'digitalocean' as const;
  private readonly api: DotsClient;
  /** Keys known to be on the account, by fingerprint. */
  private readonly registeredKeys = new Map<string, Promise<string>>();

  constructor(
    credentials: DigitalOceanCredentials,
    private readonly options: DropletDriverOptions,
  ) {
    const root = (options.endpoint ?? 'https://api.digitalocean.com').replace(/\/+$/, '');
    this.api = budgetedApiClient(options.rateLimiter)({ token: credentials.token, endpoint: `${root}/v2`, requestTimeoutInMs: options.requestTimeoutMs });
  }

  async ensureInstance(request: EnsureInstanceRequest): Promise<CloudInstance> {
    const userDataBytes = Buffer.byteLength(request.userData, 'utf8');
    if (userDataBytes > DIGITALOCEAN_USER_DATA_LIMIT_BYTES) {
      throw new UnrecoverableCloudError(
        'digitalocean',
        'UserDataTooLarge',
        `user data is ${userDataBytes} bytes; DigitalOcean accepts at most ${DIGITALOCEAN_USER_DATA_LIMIT_BYTES}`,
      );
    }
    const tags = [
      ...Object.entries(request.tags ?? {}).map(([key, value]) => (value ? `${key}:${value}` : key)),
      tagFor('cluster', request.clusterId),
      tagFor('pool', request.poolId),
      tagFor('node', request.nodeId),
    ];
    const invalid = tags.find((tag) => !TAG_ALPHABET.test(tag) || tag.length > 255);
    if (invalid) throw new UnrecoverableCloudError('digitalocean', 'InvalidTag', `"${invalid}" is not a valid DigitalOcean tag`);
    const nodeTag = tagFor('node', request.nodeId);
    const create = async (): Promise<DropletView[]> => {
      const fingerprints = await Promise.all(request.sshPublicKeys.map((key) => this.ensureSshKey(key)));
      return this.call('droplets_create', async () => {
        const existing = await this.dropletsTagged(nodeTag);
        if (existing.length > 0) return existing;
        await this.api.droplet.createDroplet({
          name: request.name,
          region: request.region,
          size: request.size,
          image: request.image,
          ssh_keys: fingerprints,
          tags,
          user_data: request.userData,
        });
        return this.dropletsTagged(nodeTag);
      });
    };
    let created: DropletView[];
    try {
      created = await create();
    } catch (error) {
      // A key this driver registered earlier was deleted from the account since: register again, once.
      if (!(error instanceof UnrecoverableCloudError && error.status === 422 && /ssh_keys/i.test(error.message)) || this.registeredKeys.size === 0) throw error;
      this.registeredKeys.clear();
      created = await create();
    }
    const live = created.filter((droplet) => droplet.status !== 'archive').sort((a, b) => a.id - b.id);
    const [keep, ...duplicates] = live;
    for (const duplicate of duplicates) await this.deleteInstance({ id: String(duplicate.id) });
    if (!keep) return toCloudInstance(created.sort((a, b) => a.id - b.id)[0] ?? missing(nodeTag));
    return toCloudInstance(keep);
  }

  async findInstance(nodeId: string): Promise<CloudInstance | undefined> {
    const droplets = await this.call('droplets_list', () => this.dropletsTagged(tagFor('node', nodeId)));
    const sorted = droplets.sort((a, b) => a.id - b.id).map((droplet) => toCloudInstance(droplet));
    return sorted.find((instance) => instance.state !== 'terminated') ?? sorted[0];
  }

  async listInstances(selector: InstanceSelector): Promise<CloudInstance[]> {
    const droplets = await this.call('droplets_list', () => this.dropletsTagged(tagFor('cluster', selector.clusterId)));
    const poolTag = selector.poolId ? tagFor('pool', selector.poolId) : undefined;
    return droplets.filter((droplet) => !poolTag || droplet.tags.includes(poolTag)).map((droplet) => toCloudInstance(droplet));
  }

  async deleteInstance(ref: InstanceRef): Promise<void> {
    if (ref.id !== undefined) {
      const dropletId = Number(ref.id);
      if (!Number.isSafeInteger(dropletId) || dropletId < 1) throw new UnrecoverableCloudError('digitalocean', 'InvalidId', `"${ref.id}" is not a droplet id`);
      try {
        await this.call('droplets_destroy', () => this.api.droplet.deleteDroplet({ droplet_id: dropletId }));
      } catch (error) {
        if (error instanceof UnrecoverableCloudError && error.status === 404) return;
        throw error;
      }
      return;
    }
    const nodeTag = tagFor('node', ref.nodeId);
    await this.call('droplets_destroy_byTag', () => this.api.droplet.deleteDropletsByTag({ tag_name: nodeTag }));
  }

  /**
   * Registers the key on the account unless a key with its fingerprint exists; returns the
   * fingerprint. Each key is looked up once per driver (concurrent creates share the lookup), so
   * a pool's machines cost the account no more than list, create and list each.
   */
  private ensureSshKey(publicKey: string): Promise<string> {
    const fingerprint = openSshMd5Fingerprint(publicKey);
    let registered = this.registeredKeys.get(fingerprint);
    if (!registered) {
      registered = this.registerSshKey(publicKey, fingerprint);
      this.registeredKeys.set(fingerprint, registered);
      const attempt = registered;
      attempt.catch(() => {
        if (this.registeredKeys.get(fingerprint) === attempt) this.registeredKeys.delete(fingerprint);
      });
    }
    return registered;
  }

  private async registerSshKey(publicKey: string, fingerprint: string): Promise<string> {
    const exists = async (): Promise<boolean> => {
      try {
        await this.api.sshKey.getSshKey({ ssh_key_id: fingerprint });
        return true;
      } catch (error) {
        const classified = classifyDigitalOceanError(error);
        if (classified.status === 404) return false;
        throw classified;
      }
    };
    await this.call('sshKeys_ensure', async () => {
      if (await exists()) return;
      try {
        await this.api.sshKey.createSshKey({ name: `harbormaster-${fingerprint.replaceAll(':', '').slice(0, 12)}`, public_key: publicKey.trim() });
      } catch (error) {
        // Another job registered the same key between our lookup and create.
        if (classifyDigitalOceanError(error).status === 422 && (await exists())) return;
        throw error;
      }
    });
    return fingerprint;
  }

  private async dropletsTagged(tag: string): Promise<DropletView[]> {
    const out: DropletView[] = [];
    for (let page = 1; ; page++) {
      const response = await this.api.droplet.listDroplets({ tag_name: tag, page, per_page: PAGE_SIZE });
      const droplets = response.data.droplets as unknown as DropletView[];
      out.push(...droplets);
      const links = response.data.links;
      if (!links?.pages?.next || droplets.length === 0) return out;
    }
  }

  private call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    return withRetry(operation, send, classifyDigitalOceanError, this.options.retry);
  }
}

/**
 * dots-wrapper's own factory, with a context that adds a request interceptor to this client's
 * own axios instance: every request it sends, each retry included, waits for the account budget.
 */
function budgetedApiClient(budget: CloudRequestBudget | undefined): typeof createApiClient {
  if (!budget) return createApiClient;
  return dotsModules.common.createApiClient({
    modules: dotsModules,
    createContext: (contextOptions) => {
      const context = dotsModules.common.createContext(contextOptions);
      context.httpClient.interceptors.request.use(async (config) => {
        await acquireRequestSlot('digitalocean', budget);
        return config;
      });
      return context;
    },
  });
}

function tagFor(kind: keyof typeof DIGITALOCEAN_TAG_PREFIXES, id: string): string {
  return `${DIGITALOCEAN_TAG_PREFIXES[kind]}${id}`;
}

function missing(tag: string): never {
  throw new UnrecoverableCloudError('digitalocean', 'DropletMissing', `droplet tagged ${tag} was created but cannot be listed`);
}

/** DigitalOcean identifies keys by the MD5 fingerprint of the key blob, colon-separated. */
export function openSshMd5Fingerprint(publicKey: string): string {
  const blob = publicKey.trim().split(/\s+/)[1];
  if (!blob || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) throw new UnrecoverableCloudError('digitalocean', 'InvalidSshKey', 'not an OpenSSH public key');
  return (createHash('md5').update(Buffer.from(blob, 'base64')).digest('hex').match(/../g) ?? []).join(':');
}

const STATES: Record<string, CloudInstanceState> = { new: 'pending', active: 'running', off: 'stopping', archive: 'terminated' };

function toCloudInstance(droplet: DropletView): CloudInstance {
  const tags: Record<string, string> = {};
  for (const tag of droplet.tags) tags[tag] = '';
  const idFrom = (prefix: string): string | undefined => droplet.tags.find((tag) => tag.startsWith(prefix))?.slice(prefix.length);
  return {
    provider: 'digitalocean',
    id: String(droplet.id),
    name: droplet.name,
    state: STATES[droplet.status] ?? 'pending',
    providerState: droplet.status,
    privateIp: droplet.networks.v4.find((network) => network.type === 'private')?.ip_address,
    publicIp: droplet.networks.v4.find((network) => network.type === 'public')?.ip_address,
    tags,
    nodeId: idFrom(DIGITALOCEAN_TAG_PREFIXES.node),
    clusterId: idFrom(DIGITALOCEAN_TAG_PREFIXES.cluster),
    poolId: idFrom(DIGITALOCEAN_TAG_PREFIXES.pool),
    createdAt: new Date(droplet.created_at),
  };
}
