// Request schemas for the management API. They live in the domain core because the rules
// (names, versions, CIDRs, bounds) are the product's, not the HTTP layer's.
import { z } from 'zod';
import { cidrsOverlap, parseCidr } from './cidr.js';
import { DNS1123_LABEL } from './names.js';
import { newestVersion, SUPPORTED_VERSIONS } from '../versions.js';
import { addonSelectionProblems } from '../addons/validation.js';
import { DEFAULT_CNI } from '../addons/addon.js';

export const ROLES = ['owner', 'editor', 'viewer'] as const;
export type ProjectRole = (typeof ROLES)[number];
/** Each role can do everything the roles below it can. */
export const ROLE_RANK: Record<ProjectRole, number> = { viewer: 1, editor: 2, owner: 3 };

export const EXPOSE_STRATEGIES = ['NodePort', 'LoadBalancer'] as const;
export type ExposeStrategy = (typeof EXPOSE_STRATEGIES)[number];

export const DEFAULT_POD_CIDR = '10.244.0.0/16';
export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';
export const MAX_POOL_REPLICAS = 100;

/** Custom issues carry their machine-readable code in `params.code`. */
const withCode = (code: string, message: string) => ({ message, params: { code } });

const dnsLabel = (max = 63) =>
  z.string().min(1).max(max).regex(DNS1123_LABEL, 'must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with an alphanumeric');

const displayText = z
  .string()
  .min(1)
  .max(200)
  // eslint-disable-next-line no-control-regex -- matching control characters is the point: they are rejected
  .regex(/^[^\u0000-\u001f\u007f-\u009f<>]*$/, 'must not contain control characters or angle brackets')
  // Bidirectional overrides and isolates make a name read differently from what it is (the
  // "Trojan Source" trick), in the portal, in logs and in audit entries.
  .regex(/^[^\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]*$/, 'must not contain bidirectional control characters');

const cidr = z
  .string()
  .max(18)
  .refine((value) => parseCidr(value) !== undefined, withCode('invalid_cidr', 'must be an IPv4 CIDR with no host bits set, e.g. 10.244.0.0/16'));

const supportedVersion = z
  .string()
  .max(32)
  .refine(
    (value) => SUPPORTED_VERSIONS.some((candidate) => candidate.version === value),
    withCode('unsupported_version', `must be one of ${SUPPORTED_VERSIONS.map((v) => v.version).join(', ')}`),
  );

const LABEL_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const labelMap = z
  .record(
    z.string().max(316).regex(LABEL_NAME, 'must be a qualified Kubernetes label name'),
    z.string().max(63).regex(LABEL_VALUE, 'must be a valid label value'),
  )
  .refine((labels) => Object.keys(labels).length <= 64, withCode('too_many_labels', 'at most 64 labels'));

const taint = z.strictObject({
  key: z.string().max(316).regex(LABEL_NAME, 'must be a qualified name'),
  value: z.string().max(63).regex(LABEL_VALUE, 'must be a valid label value').optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
});

const SSH_KEY_TYPES = ['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'];

/** An OpenSSH public key line whose base64 blob really encodes the declared key type. */
export function isSshPublicKey(line: string): boolean {
  const [type, blob] = line.trim().split(/\s+/);
  if (!SSH_KEY_TYPES.includes(type) || !blob || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) return false;
  const bytes = Buffer.from(blob, 'base64');
  if (bytes.length < 4) return false;
  const length = bytes.readUInt32BE(0);
  return length === type.length && bytes.subarray(4, 4 + length).toString('latin1') === type;
}

const sshPublicKey = z
  .string()
  .max(16_384)
  .refine(isSshPublicKey, withCode('invalid_ssh_key', 'must be an OpenSSH public key (ssh-ed25519, ssh-rsa or ecdsa-sha2-*)'));

const slug = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be a lower-case provider slug');

export const healthCheckSchema = z.strictObject({
  startupTimeoutSeconds: z.number().int().min(30).max(7200).default(900),
  unhealthyTimeoutSeconds: z.number().int().min(10).max(3600).default(300),
  maxUnhealthyPercent: z.number().int().min(0).max(100).default(40),
});

export const createNodePoolSchema = z.strictObject({
  name: dnsLabel(40),
  credentialId: z.uuid(),
  region: slug(40),
  size: slug(60),
  image: slug(120).optional(),
  replicas: z.number().int().min(0).max(MAX_POOL_REPLICAS),
  labels: labelMap.default({}),
  taints: z.array(taint).max(32).default([]),
  sshPublicKeys: z.array(sshPublicKey).max(16).default([]),
  healthCheck: healthCheckSchema.prefault({}),
});
export type CreateNodePoolInput = z.infer<typeof createNodePoolSchema>;

export const scaleNodePoolSchema = z.strictObject({
  replicas: z.number().int().min(0).max(MAX_POOL_REPLICAS),
});

export const createClusterSchema = z
  .strictObject({
    name: dnsLabel(40).optional(),
    version: supportedVersion.optional(),
    seed: dnsLabel().optional(),
    region: slug(40).optional(),
    exposeStrategy: z.enum(EXPOSE_STRATEGIES).default('NodePort'),
    etcdReplicas: z.union([z.literal(1), z.literal(3)]).default(3),
    network: z
      .strictObject({
        podCidr: cidr.default(DEFAULT_POD_CIDR),
        serviceCidr: cidr.default(DEFAULT_SERVICE_CIDR),
        // Which plugins and MTUs are usable is core/addons' rule (addonSelectionProblems below).
        mtu: z.number().int().optional(),
      })
      .prefault({}),
    // A string, not an enum: an unknown plugin gets the add-on rules' own code (cni_unsupported).
    cni: z.string().max(40).default(DEFAULT_CNI),
    addons: z.strictObject({ metricsServer: z.boolean().default(false) }).prefault({}),
    nodePool: createNodePoolSchema.optional(),
  })
  .superRefine((value, context) => {
    const pods = parseCidr(value.network.podCidr);
    const services = parseCidr(value.network.serviceCidr);
    if (pods && services && cidrsOverlap(pods, services)) {
      context.addIssue({ code: 'custom', path: ['network', 'serviceCidr'], message: 'must not overlap network.podCidr', params: { code: 'cidr_overlap' } });
    }
    if (services && services.prefix > 28) {
      context.addIssue({
        code: 'custom',
        path: ['network', 'serviceCidr'],
        message: 'must hold at least 16 addresses (/28 or larger)',
        params: { code: 'cidr_too_small' },
      });
    }
    if (pods && pods.prefix > 24) {
      context.addIssue({ code: 'custom', path: ['network', 'podCidr'], message: 'must be /24 or larger', params: { code: 'cidr_too_small' } });
    }
    const problems = addonSelectionProblems({
      selection: { cni: value.cni, metricsServer: value.addons.metricsServer },
      version: value.version ?? newestVersion().version,
      podCidr: value.network.podCidr,
      mtu: value.network.mtu,
    });
    for (const problem of problems) context.addIssue({ code: 'custom', path: problem.path, message: problem.message, params: { code: problem.code } });
  });
export type CreateClusterInput = z.infer<typeof createClusterSchema>;

export const upgradeClusterSchema = z.strictObject({ version: supportedVersion });

export const createProjectSchema = z.strictObject({
  name: dnsLabel(40),
  displayName: displayText.optional(),
});
export const updateProjectSchema = z.strictObject({ displayName: displayText });

const email = z.email().max(254);
/**
 * Adds an existing account directly (platform admins only). It takes a user id, never an e-mail
 * address: an address is invited (`createInvitationSchema`), so no route creates an account from
 * one or tells whether one exists.
 */
export const addMemberSchema = z.strictObject({ userId: z.uuid(), role: z.enum(ROLES) });
/** Addresses are compared without regard to case, as accounts store them. */
export const createInvitationSchema = z.strictObject({ email: email.transform((value) => value.toLowerCase()), role: z.enum(ROLES) });
export const updateMemberSchema = z.strictObject({ role: z.enum(ROLES) });

export const createUserSchema = z.strictObject({
  email,
  name: displayText.optional(),
  admin: z.boolean().default(false),
});

export const createTokenSchema = z.strictObject({
  name: displayText,
  expiresInDays: z.number().int().min(1).max(365).optional(),
});

/**
 * The name every provider credential has; the provider's own fields come from its definition in
 * services/clouds (the core knows no provider).
 */
export const credentialNameSchema = dnsLabel(40);

export const registerSeedSchema = z.strictObject({
  name: dnsLabel(40),
  kubeconfig: z.string().min(20).max(65_536),
  provider: slug(40).optional(),
  region: slug(40).optional(),
  labels: labelMap.default({}),
  maxClusters: z.number().int().min(1).max(10_000).default(100),
});
export type RegisterSeedInput = z.infer<typeof registerSeedSchema>;
