// Requests where kubesim deliberately answers differently from the real kube-apiserver, by
// corpus step id, with the reason. The same list is in services/sandbox/src/kubesim/README.md
// ("Deliberate gaps"). The differential suite fails on any other mismatch, and on a gap listed
// here that no longer mismatches, so the list stays true.
const GENERATION = 'EndpointSlice generation bumps follow a simplified rule (every change bumps it).';
const SSA = 'Server-side apply ownership of defaulted fields is approximated (a forced apply keeps a defaulted field the real one drops).';
const MESSAGE = 'An unparsable watch resourceVersion is a 500 like the real one, but kubesim names the reason InternalError where the real Status has none.';
const WATCH = 'A watch from resourceVersion 1 gets the 410 Expired ERROR event from kubesim (compacted history); the real v1.37 apiserver still serves it.';
const TOKENCACHE =
  'No token authentication cache: the real apiserver keeps a successful token authentication for 10 s, so a deleted bootstrap token still works for a while.';
const SA =
  "No ServiceAccount admission lookup: pods are admitted without their service account existing. kubesim's workload controllers and process kubelets create pods in namespaces where no serviceaccount controller runs (the sandbox suites run controllers selectively), and enforcing the lookup refuses them (tried: the kubelet Deployment and etcd StatefulSet suites fail).";

export const KNOWN_GAPS: Readonly<Record<string, string>> = {
  'endpointslices:patch-strategic': GENERATION,
  'endpointslices:patch-json': GENERATION,
  'endpointslices:put': GENERATION,
  'endpointslices:apply-a': GENERATION,
  'endpointslices:apply-b-force': GENERATION,
  'nodes:apply-b-force': SSA,
  'watch:bad-rv': MESSAGE,
  'watch:too-old': WATCH,
  'watch:too-old-selector': WATCH,
  'bootstrap:after-delete': TOKENCACHE,
  'valid:pod-no-sa': SA,
  'valid:pod-missing-sa': SA,
};
