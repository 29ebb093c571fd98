// A CloudDriver whose real driver is still being loaded. Provider definitions load their driver
// module (and its SDK) lazily, yet createCloudDriver stays synchronous for its callers: every
// CloudDriver call is asynchronous anyway, so each one simply waits for the load first.
import type { CloudDriver, CloudInstance, CloudProvider, EnsureInstanceRequest, InstanceRef, InstanceSelector } from './driver.js';

export class DeferredDriver implements CloudDriver {
  constructor(
    readonly provider: CloudProvider,
    private readonly driver: Promise<CloudDriver>,
  ) {
    // A failed load surfaces on the first call; until then it must not be an unhandled rejection.
    driver.catch(() => undefined);
  }

  async ensureInstance(request: EnsureInstanceRequest): Promise<CloudInstance> {
    return (await this.driver).ensureInstance(request);
  }

  async findInstance(nodeId: string): Promise<CloudInstance | undefined> {
    return (await this.driver).findInstance(nodeId);
  }

  async listInstances(selector: InstanceSelector): Promise<CloudInstance[]> {
    return (await this.driver).listInstances(selector);
  }

  async deleteInstance(ref: InstanceRef): Promise<void> {
    return (await this.driver).deleteInstance(ref);
  }
}
