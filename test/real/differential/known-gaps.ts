// Requests where kubesim deliberately answers differently from the real kube-apiserver, by
// corpus step id, with the reason. The same list is in services/sandbox/src/kubesim/README.md
// ("Deliberate gaps"). The differential suite fails on any other mismatch, and on a gap listed
// here that no longer mismatches, so the list stays true.
const VALIDATION = "Validation is a subset of the real rules: this invalid request is not caught, or is caught with different causes.";
const GENERATION = "EndpointSlice generation bumps follow a simplified rule (every change bumps it).";
const PODDELETE = "An unbound pod is removed at once; the answered object lacks the deletionTimestamp the real registry stamps.";
const SSA = "Server-side apply ownership of defaulted fields is approximated (a forced apply keeps a defaulted field the real one drops).";
const MESSAGE = "An unparsable watch resourceVersion is a 500 like the real one, but kubesim names the reason InternalError where the real Status has none.";
const WATCH = "A watch from resourceVersion 1 gets the 410 Expired ERROR event from kubesim (compacted history); the real v1.37 apiserver still serves it.";
const REASON = "Authorizer decision reasons (SubjectAccessReview status.reason) are worded differently.";
const TOPOLOGY = "No PodTopologyLabels admission: node topology labels are not copied onto pods bound to the node.";
const CSR1 = "No CertificateSubjectRestriction admission (system:masters in a kube-apiserver-client CSR).";
const CSR2 = "The approval subresource accepts conditions other than Approved/Denied (the real one forbids them).";
const TOKENCACHE = "No token authentication cache: the real apiserver keeps a successful token authentication for 10 s, so a deleted bootstrap token still works for a while.";
const EVICTION = "The 429 of an eviction blocked by a PodDisruptionBudget carries no retryAfterSeconds.";
const TOKENREQUEST = "The TokenRequest answer has no metadata.uid.";
const SA = "No ServiceAccount admission lookup: pods are admitted without their service account existing (the seed runs no serviceaccount controller).";
const TAINT = "No TaintNodesByCondition admission: a new Node does not get the node.kubernetes.io/not-ready:NoSchedule taint (kubesim's node-lifecycle controller does not remove it, so the simulated scheduler would never bind).";

export const KNOWN_GAPS: Readonly<Record<string, string>> = {
  'services:create-invalid': VALIDATION,
  'endpoints:create-invalid': VALIDATION,
  'endpointslices:patch-strategic': GENERATION,
  'endpointslices:patch-json': GENERATION,
  'endpointslices:put': GENERATION,
  'endpointslices:apply-a': GENERATION,
  'endpointslices:apply-b-force': GENERATION,
  'endpointslices:create-invalid': VALIDATION,
  'pods:delete': PODDELETE,
  'pods:delete-ssa': PODDELETE,
  'poddisruptionbudgets:create-invalid': VALIDATION,
  'roles:create-invalid': VALIDATION,
  'rolebindings:create-invalid': VALIDATION,
  'networkpolicies:create-invalid': VALIDATION,
  'clusterroles:create-invalid': VALIDATION,
  'clusterrolebindings:create-invalid': VALIDATION,
  'nodes:apply-b-force': SSA,
  'nodes:create-invalid': VALIDATION,
  'certificatesigningrequests:create-invalid': VALIDATION,
  'watch:bad-rv': MESSAGE,
  'watch:too-old': WATCH,
  'watch:too-old-selector': WATCH,
  'rbac:alice-ssar': REASON,
  'rbac:admin-sar': REASON,
  'rbac:admin-sar-node': REASON,
  'rbac:admin-sar-invalid': VALIDATION,
  'node:pod-a': TOPOLOGY,
  'node:list-pods': TOPOLOGY,
  'node:list-pods-namespace': TOPOLOGY,
  'node:get-own-pod': TOPOLOGY,
  'node:create-mirror-pod': TOPOLOGY,
  'node:pod-status-own': TOPOLOGY,
  'bootstrap:csr-masters': CSR1,
  'bootstrap:csr-legacy-signer': VALIDATION,
  'bootstrap:csr-bad-usages': VALIDATION,
  'bootstrap:csr-missing-signer': VALIDATION,
  'bootstrap:csr-admin-patch-approval': CSR2,
  'bootstrap:csr-update-spec': CSR2,
  'bootstrap:after-delete': TOKENCACHE,
  'valid:wrong-type': VALIDATION,
  'valid:service-clusterip-change': VALIDATION,
  'valid:service-duplicate-port': VALIDATION,
  'valid:deploy-no-selector': VALIDATION,
  'valid:deploy-status-invalid': VALIDATION,
  'valid:deploy-spec-ignores-status': VALIDATION,
  'valid:deploy-get': VALIDATION,
  'valid:pod-status': TOPOLOGY,
  'valid:pdb-percent': VALIDATION,
  'valid:evict-blocked': EVICTION,
  'valid:pod-after-evict': TOPOLOGY,
  'valid:sa-token': TOKENREQUEST,
  'valid:sa-token-short': VALIDATION,
  'valid:pod-no-sa': SA,
  'valid:pod-missing-sa': SA,
  'nodes:create': TAINT,
  'nodes:create-dry-run': TAINT,
  'nodes:get': TAINT,
  'nodes:list-selector': TAINT,
  'nodes:patch-merge': TAINT,
  'nodes:patch-strategic': TAINT,
  'nodes:patch-json': TAINT,
  'nodes:put': TAINT,
  'nodes:apply-a': TAINT,
  'nodes:apply-create': TAINT,
  'nodes:get-after-apply-create': TAINT,
  'node:register-self': TAINT,
  'node:register-b': TAINT,
  'node:status-self': TAINT,
  'node:label-self': TAINT,
  'node:admin-label-role': TAINT,
};
