import { describe, expect, it } from 'vitest';
import { kubeletSkewProblem, SUPPORTED_VERSIONS } from '../../services/core/src/index.js';

describe('kubelet version skew', () => {
  it.each([
    ['1.36.3', 'v1.36.3', undefined],
    ['1.36.3', 'v1.33.0', undefined],
    ['1.37.2', '1.34.7', undefined],
  ])('apiserver %s accepts kubelet %s', (apiserver, kubelet, expected) => {
    expect(kubeletSkewProblem(apiserver, kubelet)).toBe(expected);
  });

  it.each([
    ['1.36.3', 'v1.32.9', /4 minors behind/],
    ['1.35.4', 'v1.36.0', /newer than apiserver/],
    ['1.35.4', 'v2.35.0', /major/],
    ['1.35.4', 'garbage', /cannot compare/],
  ])('apiserver %s refuses kubelet %s', (apiserver, kubelet, expected) => {
    expect(kubeletSkewProblem(apiserver, kubelet)).toMatch(expected);
  });

  it('lets nodes of the oldest supported minor follow the control plane to the newest', () => {
    const oldest = SUPPORTED_VERSIONS[0].version;
    for (const target of SUPPORTED_VERSIONS) expect(kubeletSkewProblem(target.version, oldest)).toBeUndefined();
  });
});
