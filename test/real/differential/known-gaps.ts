// Requests where kubesim deliberately answers differently from the real kube-apiserver, by
// corpus step id, with the reason. The same list is in services/sandbox/src/kubesim/README.md
// ("Deliberate gaps"). The differential suite fails on any other mismatch, and on a gap listed
// here that no longer mismatches, so the list stays true.
export const KNOWN_GAPS: Readonly<Record<string, string>> = {};
