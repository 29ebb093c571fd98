// The order in which a control plane comes up. Each step is applied, then awaited, before the
// next: etcd quorum before the apiserver, a healthy apiserver (of the new version, during an
// upgrade) before the controllers. Adding a component is its builder file plus an entry here.
import { apiserver } from './apiserver.js';
import type { ControlPlaneStep } from './component.js';
import { controllerManager } from './controller-manager.js';
import { etcd } from './etcd.js';
import { scheduler } from './scheduler.js';

export const CONTROL_PLANE_STEPS: readonly ControlPlaneStep[] = [
  { name: 'etcd', waitReason: 'WaitingForEtcd', components: [etcd] },
  { name: 'apiserver', waitReason: 'WaitingForAPIServer', components: [apiserver] },
  { name: 'controllers', waitReason: 'WaitingForControllers', components: [controllerManager, scheduler] },
];
