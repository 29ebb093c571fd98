// A strict, in-process EC2 endpoint: the EC2 Query protocol over HTTP, SigV4-authenticated,
// every request validated against the botocore model, ClientToken idempotency, instance
// lifecycle on timers and injectable faults.
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { delay, FaultInjector, type LaunchFaults, type RequestFaultKind } from '../common/faults.js';
import { AddressPool, randomHex, readBody, TimerSet, type RecordedRequest, closeServer } from '../common/support.js';
import { Ec2Error, invalidValue, missingParameter } from './errors.js';
import { globToRegExp } from './filters.js';
import { AMI_ID_PATTERN, ImageCatalog, type Ec2Image, type ImageArchitecture, type PublishedImage } from './images.js';
import { loadEc2Model, type Ec2Model } from './model.js';
import { decodeQueryInput, type InputObject, type InputValue } from './query-input.js';
import { accessKeyIdOf, verifySigV4 } from './sigv4.js';
import { serializeError, serializeOutput, type OutputObject } from './xml.js';
import { scalarText } from '../../text.js';

export type Ec2InstanceStateName = 'pending' | 'running' | 'shutting-down' | 'terminated' | 'stopping' | 'stopped';

const STATE_CODES: Record<Ec2InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export interface Ec2Account {
  accessKeyId: string;
  secretAccessKey: string;
  /** 12 digits; derived from the access key when omitted. */
  accountId?: string;
}

export interface Ec2SimulatedInstance {
  instanceId: string;
  reservationId: string;
  accountId: string;
  region: string;
  imageId: string;
  instanceType: string;
  state: Ec2InstanceStateName;
  stateReason?: { code: string; message: string };
  launchTime: Date;
  privateIp: string;
  publicIp: string;
  tags: Record<string, string>;
  clientToken?: string;
  keyName?: string;
  /** Decoded user data (what cloud-init would read). */
  userData: string;
}

export interface Ec2SimulatorOptions {
  accounts: Ec2Account[];
  port?: number;
  host?: string;
  timing?: { bootMs?: number; shutdownMs?: number; stopMs?: number; terminatedRetentionMs?: number };
  /** Called once an instance reaches running and its node should start. */
  onInstanceRunning?: (instance: Ec2SimulatedInstance, userData: string) => void | Promise<void>;
  /**
   * Called once when the machine is gone and its node must stop: the instance reached
   * terminated, or it was stopped by killInstance or a death fault (a stopped instance runs nothing).
   */
  onInstanceTerminated?: (instance: Ec2SimulatedInstance) => void | Promise<void>;
  modelPath?: string;
  random?: () => number;
  /** The installation's share of addresses and instance ids (see MACHINE_BLOCKS); unset: block 0's start, and beyond. */
  machineBlock?: number;
}

export interface Ec2Simulator {
  url: string;
  faults: FaultInjector;
  instances(filter?: { accountId?: string; accessKeyId?: string }): Ec2SimulatedInstance[];
  requests(): RecordedRequest[];
  /** Makes an instance die now, as a hardware failure or a spot reclaim would. */
  killInstance(instanceId: string, finalState?: 'terminated' | 'stopped'): void;
  /**
   * Signs up an account (idempotent for the same key and secret). Requests signed with keys no
   * account owns are still refused with AuthFailure.
   */
  addAccount(account: Ec2Account): void;
  /** The AMI catalog (DescribeImages, and what RunInstances accepts), optionally one region's. */
  images(region?: string): Ec2Image[];
  /** Registers another image, e.g. a newer serial of a release; returns it with its regional AMI id. */
  publishImage(image: PublishedImage): Ec2Image;
  /** Errors thrown by the instance hooks (boot and termination), by instance id. */
  bootErrors(): Map<string, unknown>;
  /** Simulator bugs (a response the model does not allow, a crash); tests assert this stays empty. */
  internalErrors(): string[];
  close(): Promise<void>;
}

interface InstanceRecord extends Ec2SimulatedInstance {
  userDataBase64?: string;
  amiLaunchIndex: number;
  launchFaults: LaunchFaults;
  architecture: ImageArchitecture;
  /** The termination hook ran (it runs once per instance). */
  goneNotified?: boolean;
}

interface TokenRecord {
  fingerprint: string;
  reservationId: string;
}

const USER_DATA_LIMIT_BYTES = 16 * 1024;
const MAX_TAGS_PER_RESOURCE = 50;
const IMPLEMENTED = new Set(['RunInstances', 'DescribeInstances', 'TerminateInstances', 'CreateTags', 'DescribeInstanceStatus', 'DescribeImages']);
const FAULT_ERRORS: Record<RequestFaultKind, Ec2Error> = {
  throttle: new Ec2Error('RequestLimitExceeded', 'Request limit exceeded.', 503),
  'server-error': new Ec2Error('InternalError', 'An internal error has occurred.', 500),
  unavailable: new Ec2Error('Unavailable', 'The server is overloaded and cannot handle the request.', 503),
};

export async function startEc2Simulator(options: Ec2SimulatorOptions): Promise<Ec2Simulator> {
  const model = loadEc2Model(options.modelPath);
  const simulator = new Ec2SimulatorServer(model, options);
  await simulator.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  return simulator.handle();
}

class Ec2SimulatorServer {
  readonly faults: FaultInjector;
  private readonly server: Server;
  private readonly secrets = new Map<string, { secret: string; accountId: string }>();
  private readonly instances = new Map<string, InstanceRecord>();
  private readonly tokens = new Map<string, TokenRecord>();
  private readonly recorded: RecordedRequest[] = [];
  private readonly bootErrors = new Map<string, unknown>();
  private readonly internalErrors: string[] = [];
  private readonly timers = new TimerSet();
  private readonly catalog = new ImageCatalog();
  private readonly privateIps: AddressPool;
  private readonly publicIps: AddressPool;
  private readonly timing: Required<NonNullable<Ec2SimulatorOptions['timing']>>;
  private url = '';
  private closed = false;

  constructor(
    private readonly model: Ec2Model,
    private readonly options: Ec2SimulatorOptions,
  ) {
    this.faults = new FaultInjector(options.random);
    this.privateIps = new AddressPool('127.100', options.machineBlock);
    this.publicIps = new AddressPool('127.101', options.machineBlock);
    for (const account of options.accounts) this.addAccount(account);
    this.timing = {
      bootMs: options.timing?.bootMs ?? 2000,
      shutdownMs: options.timing?.shutdownMs ?? 2000,
      stopMs: options.timing?.stopMs ?? 2000,
      terminatedRetentionMs: options.timing?.terminatedRetentionMs ?? 60 * 60 * 1000,
    };
    this.server = createServer((request, response) => {
      this.serve(request, response).catch((error: unknown) => {
        // Only a simulator bug gets here; make it loud rather than a hanging client.
        this.internalErrors.push(error instanceof Error ? error.message : String(error));
        if (!response.headersSent) response.statusCode = 500;
        response.end();
      });
    });
  }

  addAccount(account: Ec2Account): void {
    const accountId =
      account.accountId ??
      (BigInt(`0x${createHash('sha256').update(account.accessKeyId).digest('hex').slice(0, 12)}`) % 10n ** 12n).toString().padStart(12, '0');
    if (!/^\d{12}$/.test(accountId)) throw new Error(`account id ${accountId} must be 12 digits`);
    const existing = this.secrets.get(account.accessKeyId);
    if (existing) {
      if (existing.secret !== account.secretAccessKey || existing.accountId !== accountId)
        throw new Error(`access key ${account.accessKeyId} belongs to another account`);
      return;
    }
    this.secrets.set(account.accessKeyId, { secret: account.secretAccessKey, accountId });
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        const address = this.server.address() as AddressInfo;
        this.url = `http://${host}:${address.port}`;
        resolve();
      });
    });
  }

  handle(): Ec2Simulator {
    return {
      url: this.url,
      faults: this.faults,
      instances: (filter) => this.snapshot(filter),
      requests: () => [...this.recorded],
      killInstance: (instanceId, finalState = 'terminated') => {
        const instance = this.instances.get(instanceId);
        if (!instance) throw new Error(`no instance ${instanceId}`);
        this.die(instance, finalState);
      },
      addAccount: (account) => this.addAccount(account),
      images: (region) => this.catalog.list(region),
      publishImage: (image) => this.catalog.publish(image),
      bootErrors: () => new Map(this.bootErrors),
      internalErrors: () => [...this.internalErrors],
      close: () => this.close(),
    };
  }

  private snapshot(filter: { accountId?: string; accessKeyId?: string } = {}): Ec2SimulatedInstance[] {
    const accountId = filter.accessKeyId ? this.secrets.get(filter.accessKeyId)?.accountId : filter.accountId;
    return [...this.instances.values()].filter((instance) => !accountId || instance.accountId === accountId).map((instance) => publicView(instance));
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timers.clear();
    await closeServer(this.server);
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    const url = new URL(request.url ?? '/', 'http://simulator');
    const record: RecordedRequest = {
      at: new Date(),
      method: request.method ?? 'GET',
      path: url.pathname,
      host: request.headers.host ?? '',
      credential: accessKeyIdOf(request.headers),
      status: 0,
    };
    this.recorded.push(record);
    const reply = (status: number, xml: string): void => {
      record.status = status;
      response.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8', 'x-amzn-requestid': requestId });
      response.end(xml);
    };
    try {
      const body = await readBody(request, 1024 * 1024);
      if (request.method !== 'POST' && request.method !== 'GET') throw new Ec2Error('InvalidAction', `The HTTP method ${request.method} is not supported.`);
      const caller = verifySigV4(
        { method: request.method, path: url.pathname, query: url.searchParams, headers: request.headers, body },
        (accessKeyId) => this.secrets.get(accessKeyId)?.secret,
        'ec2',
      );
      const params = request.method === 'POST' ? new URLSearchParams(body.toString('utf8')) : url.searchParams;
      const action = params.get('Action');
      record.operation = action ?? undefined;
      if (!action) throw missingParameter('Action');
      const version = params.get('Version');
      if (!version) throw missingParameter('Version');
      if (version !== this.model.metadata.apiVersion) {
        throw new Ec2Error('NoSuchVersion', `The requested version (${version}) of service AmazonEC2 does not exist`);
      }
      const operation = this.model.operations[action];
      if (!operation) throw new Ec2Error('InvalidAction', `The action ${action} is not valid for this web service.`);
      const input = decodeQueryInput(this.model, operation.input?.shape, params);

      await delay(this.faults.latencyMs);
      const before = this.faults.takeRequestFault(action, 'before');
      if (before) throw FAULT_ERRORS[before.kind];
      if (input.DryRun === true) throw new Ec2Error('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
      if (!IMPLEMENTED.has(action)) {
        throw new Ec2Error('UnsupportedOperation', `The simulator does not implement ${action} (it is valid in the EC2 model).`);
      }
      const account = this.secrets.get(caller.accessKeyId);
      if (!account) throw new Ec2Error('AuthFailure', 'AWS was not able to validate the provided access credentials', 401);
      const context: CallContext = { accountId: account.accountId, region: caller.region, params };
      const output = this.dispatch(action, input, context);
      const after = this.faults.takeRequestFault(action, 'after');
      if (after) throw FAULT_ERRORS[after.kind];
      reply(200, serializeOutput(this.model, action, operation.output?.shape, output, requestId));
    } catch (error) {
      if (error instanceof Ec2Error) {
        reply(error.status, serializeError(error.code, error.message, requestId));
        return;
      }
      throw error;
    }
  }

  private dispatch(action: string, input: InputObject, context: CallContext): OutputObject {
    switch (action) {
      case 'RunInstances':
        return this.runInstances(input, context);
      case 'DescribeInstances':
        return this.describeInstances(input, context);
      case 'TerminateInstances':
        return this.terminateInstances(input, context);
      case 'CreateTags':
        return this.createTags(input, context);
      case 'DescribeInstanceStatus':
        return this.describeInstanceStatus(input, context);
      case 'DescribeImages':
        return this.catalog.describe(input, context.region, context.accountId);
      default:
        throw new Ec2Error('UnsupportedOperation', `The simulator does not implement ${action}.`);
    }
  }

  private runInstances(input: InputObject, context: CallContext): OutputObject {
    const minCount = asNumber(input.MinCount);
    const maxCount = asNumber(input.MaxCount);
    if (minCount < 1) throw invalidValue('MinCount', String(minCount), 'MinCount must be at least 1.');
    if (maxCount < minCount) throw invalidValue('MaxCount', String(maxCount), 'MaxCount must be greater than or equal to MinCount.');
    const imageId = typeof input.ImageId === 'string' ? input.ImageId : undefined;
    if (!imageId && !input.LaunchTemplate) throw missingParameter('ImageId');
    if (!imageId) throw new Ec2Error('UnsupportedOperation', 'The simulator does not implement launch templates.');
    if (!AMI_ID_PATTERN.test(imageId)) throw new Ec2Error('InvalidAMIID.Malformed', `Invalid id: "${imageId}" (expecting "ami-...")`);

    const clientToken = typeof input.ClientToken === 'string' ? input.ClientToken : undefined;
    if (clientToken !== undefined && (clientToken.length > 64 || !/^[\x20-\x7e]+$/.test(clientToken))) {
      throw invalidValue('ClientToken', clientToken, 'A client token is at most 64 ASCII characters.');
    }
    const fingerprint = fingerprintParams(context.params);
    if (clientToken) {
      const previous = this.tokens.get(`${context.accountId}/${context.region}/${clientToken}`);
      if (previous) {
        if (previous.fingerprint !== fingerprint) {
          throw new Ec2Error(
            'IdempotentParameterMismatch',
            'Arguments on this idempotent request are inconsistent with arguments used in previous request(s).',
          );
        }
        return this.reservationOutput(previous.reservationId, context.accountId);
      }
    }

    let userDataBase64: string | undefined;
    let userData = '';
    if (input.UserData !== undefined) {
      userDataBase64 = scalarText(input.UserData);
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(userDataBase64) || userDataBase64.length % 4 !== 0) {
        throw invalidValue('UserData', userDataBase64.slice(0, 32), 'Invalid BASE64 encoding of user data.');
      }
      const decoded = Buffer.from(userDataBase64, 'base64');
      if (decoded.length > USER_DATA_LIMIT_BYTES) throw invalidValue('UserData', '...', `User data is limited to ${USER_DATA_LIMIT_BYTES} bytes`);
      userData = decoded.toString('utf8');
    }

    const tags: Record<string, string> = {};
    for (const specification of asObjects(input.TagSpecifications)) {
      const resourceType = scalarText(specification.ResourceType ?? '');
      if (!resourceType) throw missingParameter('TagSpecification.N.ResourceType');
      if (!['instance', 'volume', 'network-interface', 'spot-instances-request', 'elastic-gpu'].includes(resourceType)) {
        throw invalidValue('TagSpecification.ResourceType', resourceType, `'${resourceType}' is not a valid taggable resource type for this operation.`);
      }
      if (resourceType === 'instance') Object.assign(tags, validatedTags(asObjects(specification.Tags)));
    }

    const reservationId = `r-${randomHex(17)}`;
    const instanceType = typeof input.InstanceType === 'string' ? input.InstanceType : 'm1.small';
    const image = this.catalog.launchable(context.region, imageId, instanceType);
    for (let index = 0; index < maxCount; index++) {
      const instance: InstanceRecord = {
        instanceId: `i-${(this.options.machineBlock ?? 0).toString(16).padStart(2, '0')}${randomHex(15)}`,
        reservationId,
        accountId: context.accountId,
        region: context.region,
        imageId,
        architecture: image.architecture,
        instanceType,
        state: 'pending',
        launchTime: new Date(),
        privateIp: this.privateIps.allocate(),
        publicIp: this.publicIps.allocate(),
        tags: { ...tags },
        clientToken,
        keyName: typeof input.KeyName === 'string' ? input.KeyName : undefined,
        userData,
        userDataBase64,
        amiLaunchIndex: index,
        launchFaults: this.faults.takeLaunchFaults(),
      };
      this.instances.set(instance.instanceId, instance);
      this.scheduleBoot(instance);
    }
    if (clientToken) this.tokens.set(`${context.accountId}/${context.region}/${clientToken}`, { fingerprint, reservationId });
    return this.reservationOutput(reservationId, context.accountId);
  }

  private scheduleBoot(instance: InstanceRecord): void {
    if (instance.launchFaults.boot === 'stuck-pending') return;
    this.timers.after(this.timing.bootMs, () => {
      if (instance.state !== 'pending') return;
      instance.state = 'running';
      const death = instance.launchFaults.death;
      if (death) this.timers.after(death.afterMs, () => this.die(instance, death.finalState));
      if (instance.launchFaults.boot === 'node-fails' || !this.options.onInstanceRunning) return;
      Promise.resolve()
        .then(() => this.options.onInstanceRunning?.(publicView(instance), instance.userData))
        .catch((error: unknown) => this.bootErrors.set(instance.instanceId, error));
    });
  }

  private die(instance: InstanceRecord, finalState: 'terminated' | 'stopped'): void {
    if (instance.state === 'terminated' || instance.state === 'shutting-down') return;
    if (finalState === 'stopped') {
      instance.state = 'stopping';
      instance.stateReason = { code: 'Server.InternalError', message: 'Server.InternalError: Internal error on launch' };
      this.timers.after(this.timing.stopMs, () => {
        if (instance.state !== 'stopping') return;
        instance.state = 'stopped';
        this.notifyGone(instance);
      });
      return;
    }
    instance.stateReason = { code: 'Server.InternalError', message: 'Server.InternalError: Internal error on launch' };
    this.beginTermination(instance);
  }

  private beginTermination(instance: InstanceRecord): void {
    instance.state = 'shutting-down';
    this.timers.after(this.timing.shutdownMs, () => {
      instance.state = 'terminated';
      this.notifyGone(instance);
      this.timers.after(this.timing.terminatedRetentionMs, () => this.instances.delete(instance.instanceId));
    });
  }

  private notifyGone(instance: InstanceRecord): void {
    if (instance.goneNotified || !this.options.onInstanceTerminated) return;
    instance.goneNotified = true;
    Promise.resolve()
      .then(() => this.options.onInstanceTerminated?.(publicView(instance)))
      .catch((error: unknown) => this.bootErrors.set(instance.instanceId, error));
  }

  private reservationOutput(reservationId: string, accountId: string): OutputObject {
    const members = [...this.instances.values()].filter((instance) => instance.reservationId === reservationId);
    return { ReservationId: reservationId, OwnerId: accountId, Groups: [], Instances: members.map((instance) => instanceOutput(instance)) };
  }

  private ownInstances(accountId: string, region: string): InstanceRecord[] {
    return [...this.instances.values()].filter((instance) => instance.accountId === accountId && instance.region === region);
  }

  private resolveInstanceIds(ids: InputValue | undefined, context: CallContext): InstanceRecord[] {
    const own = new Map(this.ownInstances(context.accountId, context.region).map((instance) => [instance.instanceId, instance]));
    const wanted = Array.isArray(ids) ? ids.map(String) : [];
    const missing: string[] = [];
    const found: InstanceRecord[] = [];
    for (const id of wanted) {
      if (!/^i-([0-9a-f]{8}|[0-9a-f]{17})$/.test(id)) throw new Ec2Error('InvalidInstanceID.Malformed', `Invalid id: "${id}"`);
      const instance = own.get(id);
      if (instance) found.push(instance);
      else missing.push(id);
    }
    if (missing.length > 0) {
      throw new Ec2Error(
        'InvalidInstanceID.NotFound',
        `The instance ID${missing.length > 1 ? 's' : ''} '${missing.join(', ')}' do${missing.length > 1 ? '' : 'es'} not exist`,
      );
    }
    return found;
  }

  private describeInstances(input: InputObject, context: CallContext): OutputObject {
    const explicitIds = Array.isArray(input.InstanceIds) && input.InstanceIds.length > 0;
    const maxResults = input.MaxResults === undefined ? undefined : asNumber(input.MaxResults);
    if (explicitIds && maxResults !== undefined) {
      throw new Ec2Error('InvalidParameterCombination', 'The parameter instancesSet cannot be used with the parameter maxResults');
    }
    if (maxResults !== undefined && (maxResults < 5 || maxResults > 1000)) {
      throw invalidValue('MaxResults', String(maxResults), 'The value must be between 5 and 1000.');
    }
    let candidates = explicitIds ? this.resolveInstanceIds(input.InstanceIds, context) : this.ownInstances(context.accountId, context.region);
    candidates = candidates.filter(instanceFilter(asObjects(input.Filters)));
    candidates.sort((a, b) => a.launchTime.getTime() - b.launchTime.getTime() || a.instanceId.localeCompare(b.instanceId));

    const queryKey = fingerprintFilters(input);
    let offset = 0;
    if (typeof input.NextToken === 'string') offset = decodeNextToken(input.NextToken, queryKey);
    const pageSize = maxResults ?? Number.MAX_SAFE_INTEGER;
    const page = candidates.slice(offset, offset + pageSize);
    const nextOffset = offset + page.length;
    const reservations = new Map<string, InstanceRecord[]>();
    for (const instance of page) reservations.set(instance.reservationId, [...(reservations.get(instance.reservationId) ?? []), instance]);
    return {
      Reservations: [...reservations].map(([reservationId, members]) => ({
        ReservationId: reservationId,
        OwnerId: context.accountId,
        Groups: [],
        Instances: members.map((instance) => instanceOutput(instance)),
      })),
      NextToken: nextOffset < candidates.length ? encodeNextToken(nextOffset, queryKey) : undefined,
    };
  }

  private terminateInstances(input: InputObject, context: CallContext): OutputObject {
    const instances = this.resolveInstanceIds(input.InstanceIds, context);
    return {
      TerminatingInstances: instances.map((instance) => {
        const previous = instance.state;
        if (previous !== 'terminated' && previous !== 'shutting-down') {
          instance.stateReason = { code: 'Client.UserInitiatedShutdown', message: 'Client.UserInitiatedShutdown: User initiated shutdown' };
          this.beginTermination(instance);
        }
        return { InstanceId: instance.instanceId, PreviousState: stateOutput(previous), CurrentState: stateOutput(instance.state) };
      }),
    };
  }

  private createTags(input: InputObject, context: CallContext): OutputObject {
    const ids = Array.isArray(input.Resources) ? input.Resources.map(String) : [];
    const nonInstance = ids.find((id) => !id.startsWith('i-'));
    if (nonInstance) throw new Ec2Error('UnsupportedOperation', `The simulator only tags instances, not ${nonInstance}.`);
    const instances = this.resolveInstanceIds(ids, context);
    const tags = validatedTags(asObjects(input.Tags));
    for (const instance of instances) {
      const merged = { ...instance.tags, ...tags };
      if (Object.keys(merged).length > MAX_TAGS_PER_RESOURCE)
        throw new Ec2Error('TagLimitExceeded', `The maximum number of Tags for a resource has been reached.`);
    }
    for (const instance of instances) Object.assign(instance.tags, tags);
    return {};
  }

  private describeInstanceStatus(input: InputObject, context: CallContext): OutputObject {
    if (asObjects(input.Filters).length > 0) throw new Ec2Error('UnsupportedOperation', 'The simulator does not filter DescribeInstanceStatus.');
    const explicitIds = Array.isArray(input.InstanceIds) && input.InstanceIds.length > 0;
    let instances = explicitIds ? this.resolveInstanceIds(input.InstanceIds, context) : this.ownInstances(context.accountId, context.region);
    if (input.IncludeAllInstances !== true) instances = instances.filter((instance) => instance.state === 'running');
    return {
      InstanceStatuses: instances.map((instance) => {
        const status = instance.state === 'running' ? 'ok' : 'not-applicable';
        const reachability = instance.state === 'running' ? 'passed' : 'initializing';
        const summary = { Status: status, Details: instance.state === 'running' ? [{ Name: 'reachability', Status: reachability }] : [] };
        return {
          InstanceId: instance.instanceId,
          AvailabilityZone: `${instance.region}a`,
          InstanceState: stateOutput(instance.state),
          InstanceStatus: summary,
          SystemStatus: summary,
        };
      }),
    };
  }
}

interface CallContext {
  accountId: string;
  region: string;
  params: URLSearchParams;
}

function publicView(instance: InstanceRecord): Ec2SimulatedInstance {
  const { userDataBase64: _encoded, amiLaunchIndex: _index, launchFaults: _faults, goneNotified: _notified, architecture: _architecture, ...view } = instance;
  return { ...view, tags: { ...instance.tags } };
}

function stateOutput(state: Ec2InstanceStateName): OutputObject {
  return { Code: STATE_CODES[state], Name: state };
}

function instanceOutput(instance: InstanceRecord): OutputObject {
  const running = instance.state === 'running';
  const dns = `ip-${instance.privateIp.replaceAll('.', '-')}.ec2.internal`;
  return {
    InstanceId: instance.instanceId,
    ImageId: instance.imageId,
    State: stateOutput(instance.state),
    PrivateDnsName: instance.state === 'terminated' ? '' : dns,
    PublicDnsName: running ? `ec2-${instance.publicIp.replaceAll('.', '-')}.compute-1.amazonaws.com` : '',
    StateTransitionReason: instance.stateReason?.message ?? '',
    KeyName: instance.keyName,
    AmiLaunchIndex: instance.amiLaunchIndex,
    InstanceType: instance.instanceType,
    LaunchTime: instance.launchTime,
    Placement: { AvailabilityZone: `${instance.region}a`, GroupName: '', Tenancy: 'default' },
    Monitoring: { State: 'disabled' },
    PrivateIpAddress: instance.state === 'terminated' ? undefined : instance.privateIp,
    PublicIpAddress: running ? instance.publicIp : undefined,
    Architecture: instance.architecture,
    RootDeviceType: 'ebs',
    RootDeviceName: '/dev/xvda',
    VirtualizationType: 'hvm',
    Hypervisor: 'xen',
    ClientToken: instance.clientToken ?? '',
    Tags: Object.entries(instance.tags).map(([Key, Value]) => ({ Key, Value })),
    StateReason: instance.stateReason ? { Code: instance.stateReason.code, Message: instance.stateReason.message } : undefined,
  };
}

function asNumber(value: InputValue | undefined): number {
  if (typeof value !== 'number') throw new Error('simulator bug: expected a decoded number');
  return value;
}

function asObjects(value: InputValue | undefined): InputObject[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new Error('simulator bug: expected a decoded list');
  return value.filter(
    (item): item is InputObject => typeof item === 'object' && item !== null && !Array.isArray(item) && !(item instanceof Date) && !Buffer.isBuffer(item),
  );
}

function validatedTags(tags: InputObject[]): Record<string, string> {
  if (tags.length > MAX_TAGS_PER_RESOURCE) throw new Ec2Error('TagLimitExceeded', 'The maximum number of Tags for a resource has been reached.');
  const out: Record<string, string> = {};
  for (const tag of tags) {
    const key = typeof tag.Key === 'string' ? tag.Key : undefined;
    const value = typeof tag.Value === 'string' ? tag.Value : '';
    if (!key) throw new Ec2Error('InvalidParameterValue', 'Tag keys must not be empty.');
    if (key.length > 127) throw invalidValue('Tag.Key', key.slice(0, 32), 'Tag keys are at most 127 characters.');
    if (value.length > 255) throw invalidValue('Tag.Value', value.slice(0, 32), 'Tag values are at most 255 characters.');
    if (key.toLowerCase().startsWith('aws:')) throw new Ec2Error('InvalidParameterValue', "Tag keys starting with 'aws:' are reserved for internal use");
    if (key in out) throw new Ec2Error('InvalidParameterValue', `Duplicate tag key '${key}' specified.`);
    out[key] = value;
  }
  return out;
}

const SUPPORTED_FILTERS = new Set([
  'tag-key',
  'instance-state-name',
  'instance-id',
  'client-token',
  'reservation-id',
  'private-ip-address',
  'instance-type',
  'image-id',
]);

function instanceFilter(filters: InputObject[]): (instance: InstanceRecord) => boolean {
  const compiled = filters.map((filter) => {
    const name = typeof filter.Name === 'string' ? filter.Name : '';
    const values = Array.isArray(filter.Values) ? filter.Values.map(String) : [];
    if (!name) throw missingParameter('Filter.N.Name');
    if (!name.startsWith('tag:') && !SUPPORTED_FILTERS.has(name)) throw new Ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`);
    if (values.length === 0) throw new Ec2Error('InvalidParameterValue', `The filter '${name}' requires at least one value`);
    const patterns = values.map(globToRegExp);
    const matches = (candidate: string | undefined): boolean => candidate !== undefined && patterns.some((pattern) => pattern.test(candidate));
    return (instance: InstanceRecord): boolean => {
      if (name.startsWith('tag:')) return matches(instance.tags[name.slice(4)]);
      switch (name) {
        case 'tag-key':
          return Object.keys(instance.tags).some((key) => matches(key));
        case 'instance-state-name':
          return matches(instance.state);
        case 'instance-id':
          return matches(instance.instanceId);
        case 'client-token':
          return matches(instance.clientToken);
        case 'reservation-id':
          return matches(instance.reservationId);
        case 'private-ip-address':
          return matches(instance.privateIp);
        case 'instance-type':
          return matches(instance.instanceType);
        default:
          return matches(instance.imageId);
      }
    };
  });
  return (instance) => compiled.every((predicate) => predicate(instance));
}

/** Everything the caller asked for except the token itself, in a stable order. */
function fingerprintParams(params: URLSearchParams): string {
  const entries = [...params].filter(([key]) => key !== 'ClientToken').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex');
}

function fingerprintFilters(input: InputObject): string {
  return createHash('sha256')
    .update(JSON.stringify([input.Filters ?? [], input.MaxResults ?? null]))
    .digest('hex')
    .slice(0, 16);
}

function encodeNextToken(offset: number, queryKey: string): string {
  return Buffer.from(JSON.stringify({ offset, queryKey })).toString('base64url');
}

function decodeNextToken(token: string, queryKey: string): number {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'offset' in parsed && 'queryKey' in parsed) {
      const { offset, queryKey: tokenKey } = parsed;
      if (typeof offset === 'number' && Number.isInteger(offset) && offset >= 0 && tokenKey === queryKey) return offset;
    }
  } catch {
    // fall through to the error below
  }
  throw new Ec2Error('InvalidParameterValue', `The parameter NextToken is invalid: ${token.slice(0, 32)}`);
}
