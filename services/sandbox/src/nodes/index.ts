export { startNodeSimulator, type NodePhase, type NodeSimulator, type NodeSimulatorOptions } from './simulator.js';
export { createNodeFleet, type FleetNodeOptions, type NodeFleet } from './fleet.js';
export {
  ApiStatusError,
  JoinRefusedError,
  apiRequest,
  discoverCluster,
  requestNodeCertificate,
  verifyDetachedJws,
  type ApiTarget,
  type Credentials,
} from './join.js';
export { parseNodeUserData, UserDataError, type JoinParameters, type NodeTaintSpec } from './user-data.js';
export { SshdBindError, startSshd, type SshdHandle, type SshdOptions } from './sshd.js';
export { NETWORK_NOT_READY_MESSAGE, type PodSummary } from './pods.js';
export { imageBasename, STAND_INS, type StandIn } from './stand-ins.js';
