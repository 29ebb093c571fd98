// The provider registry: one definition per cloud, read alike by the API (schema, sealing), the
// worker (drivers, limits, throttling), the configuration (endpoint variables) and the catalog.
import { describe, expect, it } from 'vitest';
import {
  createCloudDriver,
  createCredentialSchema,
  isThrottlingCloudError,
  nodePoolDefaultsByProvider,
  providerCatalog,
  PROVIDER_NAMES,
  sealCredential,
  TransientCloudError,
} from '../../services/clouds/src/index.js';
import { loadConfig } from '../../services/platform/src/config.js';

const AWS_BODY = { name: 'prod', provider: 'aws', accessKeyId: 'AKIAABCDEFGHIJKLMNOP', secretAccessKey: 'abcdEFGH1234/+=abcdEFGH', region: 'eu-central-1' };
const DO_BODY = { name: 'droplets', provider: 'digitalocean', token: 'dop_v1_0123456789abcdef0123' };

describe('provider registry', () => {
  it('validates each provider’s own credential fields, strictly', () => {
    expect(createCredentialSchema.safeParse(AWS_BODY).success).toBe(true);
    expect(createCredentialSchema.safeParse(DO_BODY).success).toBe(true);
    expect(createCredentialSchema.safeParse({ ...DO_BODY, region: 'fra1' }).success).toBe(false);
    expect(createCredentialSchema.safeParse({ ...AWS_BODY, region: 'Europe' }).success).toBe(false);
    expect(createCredentialSchema.safeParse({ ...DO_BODY, provider: 'gcp' }).success).toBe(false);
    expect(createCredentialSchema.safeParse({ ...DO_BODY, name: 'Not A Label' }).success).toBe(false);
  });

  it('seals the secret and summarises only masked or public facts', () => {
    const aws = sealCredential(createCredentialSchema.parse(AWS_BODY));
    expect(aws.secret).toEqual({ accessKeyId: AWS_BODY.accessKeyId, secretAccessKey: AWS_BODY.secretAccessKey, region: 'eu-central-1' });
    expect(aws.summary).toEqual({ region: 'eu-central-1', accessKeyId: 'AKIA…MNOP' });
    const digitalOcean = sealCredential(createCredentialSchema.parse(DO_BODY));
    expect(digitalOcean.secret).toEqual({ token: DO_BODY.token });
    expect(JSON.stringify(digitalOcean.summary)).not.toContain(DO_BODY.token);
  });

  it('describes every provider to the catalog, secrets marked as such', () => {
    const catalog = providerCatalog();
    expect(catalog.map((entry) => entry.name)).toEqual(PROVIDER_NAMES);
    expect(catalog.find((entry) => entry.name === 'aws')).toMatchObject({ label: 'AWS', regionFrom: 'region' });
    expect(catalog.find((entry) => entry.name === 'digitalocean')?.credentialFields).toEqual([
      { name: 'token', label: 'API token', secret: true, required: true },
    ]);
    expect(Object.keys(nodePoolDefaultsByProvider())).toEqual(PROVIDER_NAMES);
    expect(nodePoolDefaultsByProvider().digitalocean).toMatchObject({ region: 'fra1', size: 's-2vcpu-4gb', image: 'ubuntu-24-04-x64' });
  });

  it('reads each provider’s endpoint override from the variable its definition names', () => {
    const config = loadConfig({ HM_AWS_ENDPOINT: 'http://127.0.0.1:4566', HM_DIGITALOCEAN_ENDPOINT: 'http://127.0.0.1:4567' });
    expect(config.clouds.endpoints).toEqual({ aws: 'http://127.0.0.1:4566', digitalocean: 'http://127.0.0.1:4567' });
    expect(loadConfig({}).clouds.endpoints).toEqual({});
    expect(() => loadConfig({ HM_DIGITALOCEAN_ENDPOINT: 'not a url' })).toThrow(/HM_DIGITALOCEAN_ENDPOINT/);
  });

  it('builds each provider’s driver and asks each provider what throttling is', () => {
    expect(createCloudDriver({ provider: 'aws', region: 'us-east-1', accessKeyId: 'AKIAABCDEFGHIJKLMNOP', secretAccessKey: 'x'.repeat(40) }).provider).toBe(
      'aws',
    );
    expect(createCloudDriver({ provider: 'digitalocean', token: DO_BODY.token }).provider).toBe('digitalocean');
    expect(isThrottlingCloudError(new TransientCloudError('aws', 'RequestLimitExceeded', 'slow down', 503))).toBe(true);
    expect(isThrottlingCloudError(new TransientCloudError('digitalocean', 'RequestLimitExceeded', 'slow down', 503))).toBe(false);
    expect(isThrottlingCloudError(new TransientCloudError('digitalocean', 'too_many_requests', 'slow down', 429))).toBe(true);
  });
});
