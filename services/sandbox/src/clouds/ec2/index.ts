export { startEc2Simulator } from './simulator.js';
export type { Ec2Account, Ec2InstanceStateName, Ec2SimulatedInstance, Ec2Simulator, Ec2SimulatorOptions } from './simulator.js';
export { CANONICAL_OWNER_ID, canonicalImageName, CATALOG_REGIONS, instanceTypeArchitecture } from './images.js';
export type { Ec2Image, PublishedImage } from './images.js';
export { FaultInjector } from '../common/faults.js';
export type { RecordedRequest } from '../common/support.js';
