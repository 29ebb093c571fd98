// Amazon EC2 as one provider definition: everything the API, the worker, the catalog and the
// portal need to know about it. Credentials are regional, so pools take the credential's region.
import { z } from 'zod';
import { mask, type ProviderDefinition } from '../providers/definition.js';
import type { AwsCredentials } from './ec2-driver.js';
import { classifyAwsError, isAwsThrottling } from './errors.js';
import { AWS_REGIONS, EC2_INSTANCE_TYPE_PATTERN, EC2_INSTANCE_TYPES } from './catalog.js';
import { awsImageReferenceProblem } from './image-resolver.js';

/** EC2 refuses user data above 16 KB (before base64). */
export const EC2_USER_DATA_LIMIT_BYTES = 16 * 1024;

const AWS_REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;

/** Settings only EC2 has; the worker leaves them unset, tests tune them. */
export interface AwsDriverOptions {
  subnetId?: string;
  securityGroupIds?: string[];
  imageCacheTtlMs?: number;
}

export const aws: ProviderDefinition<'aws', AwsCredentialShape, AwsCredentials, AwsDriverOptions> = {
  name: 'aws',
  label: 'AWS',
  credential: {
    shape: {
      accessKeyId: z.string().regex(/^(AKIA|ASIA)[A-Z0-9]{12,124}$/, 'must be an AWS access key id'),
      secretAccessKey: z
        .string()
        .min(16)
        .max(128)
        .regex(/^[A-Za-z0-9/+=]+$/, 'must be an AWS secret access key'),
      region: z.string().max(30).regex(AWS_REGION, 'must be an AWS region such as eu-central-1'),
    },
    fields: [
      { name: 'accessKeyId', label: 'Access key id', secret: false, required: true },
      { name: 'secretAccessKey', label: 'Secret access key', secret: true, required: true },
      { name: 'region', label: 'Region', secret: false, required: true, default: 'eu-central-1' },
    ],
    seal: (input) => ({
      secret: { accessKeyId: input.accessKeyId, secretAccessKey: input.secretAccessKey, region: input.region },
      summary: { region: input.region, accessKeyId: mask(input.accessKeyId) },
    }),
    regionFrom: 'region',
  },
  nodePools: {
    region: null,
    regions: ['us-east-1', 'us-east-2', 'us-west-2', 'eu-central-1', 'eu-west-1', 'ap-southeast-1'],
    size: 't3.medium',
    sizes: ['t3.small', 't3.medium', 't3.large', 'm6i.large', 'm6i.xlarge'],
    image: 'ubuntu-24.04',
  },
  // Images are checked by imageReferenceProblem (aliases and AMI ids), not listed.
  nodePoolCatalog: { regions: AWS_REGIONS, sizes: EC2_INSTANCE_TYPES, unlistedFamilySizePattern: EC2_INSTANCE_TYPE_PATTERN },
  userDataLimitBytes: EC2_USER_DATA_LIMIT_BYTES,
  imageReferenceProblem: awsImageReferenceProblem,
  classifyError: classifyAwsError,
  isThrottling: isAwsThrottling,
  endpointEnv: 'HM_AWS_ENDPOINT',
  loadDriver: async () => {
    const { Ec2Driver } = await import('./ec2-driver.js');
    return (secret, context, options) =>
      new Ec2Driver(secret, {
        ...context,
        subnetId: options?.subnetId,
        securityGroupIds: options?.securityGroupIds,
        imageCacheTtlMs: options?.imageCacheTtlMs,
      });
  },
};

// A type, not an interface: it must satisfy z.ZodRawShape's index signature, which interfaces do not get implicitly.
// eslint-disable-next-line @typescript-eslint/consistent-type-definitions -- see above
type AwsCredentialShape = {
  accessKeyId: z.ZodString;
  secretAccessKey: z.ZodString;
  region: z.ZodString;
};
