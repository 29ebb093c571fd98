import type { AuthConfig } from '../../../services/sandbox/src/kubesim/contracts.js';

export function authConfig(partial: Partial<AuthConfig>): AuthConfig {
  return {
    tokenAuthFile: [],
    enableBootstrapTokenAuth: false,
    serviceAccountKeys: [],
    serviceAccountIssuers: [],
    anonymous: true,
    authorizationModes: [],
    ...partial,
  };
}
