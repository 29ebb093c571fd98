export { startDigitalOceanSimulator } from './simulator.js';
export type { DigitalOceanAccount, DigitalOceanSimulator, DigitalOceanSimulatorOptions, DropletStatus, SimulatedDroplet } from './simulator.js';
export { FaultInjector } from '../common/faults.js';
export type { RecordedRequest } from '../common/support.js';
