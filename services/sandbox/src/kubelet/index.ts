// The process kubelet: runs a seed cluster's Pods as host processes (the workload controllers
// that create them are kubesim's controller manager's, or a real one's).
// See README.md in this directory for the container emulation and its limits.
export { startProcessKubelet, INSTANCE_ANNOTATION } from './kubelet.js';
export type { ProcessKubelet, ProcessKubeletOptions, RunningPod, RunningContainer } from './kubelet.js';
export type { BinaryOverrides, Executable } from './images.js';
export { imageBasename } from './images.js';
export type { BackoffSettings } from './container.js';
export type { HostsEntry } from './hosts-file.js';
export { KubernetesSeedClient } from './seed-client.js';
export type { SeedClient, SeedKind, SeedObjects } from './seed-client.js';
export { expandKubeVariables } from './expansion.js';
export { createPathTranslator } from './path-translation.js';
