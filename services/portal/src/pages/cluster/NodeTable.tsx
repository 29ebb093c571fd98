import type { PoolNode } from '../../api.js';
import { PhaseBadge, RelativeTime, ScrollTable } from '../../components/states.js';

/** Ready as the pool and the cluster summary count it (the API's `ready`); otherwise what the Node's condition says. */
function readiness(node: PoolNode): 'True' | 'False' | 'Unknown' {
  if (node.ready) return 'True';
  return node.conditions?.find((candidate) => candidate.type === 'Ready')?.status === 'Unknown' ? 'Unknown' : 'False';
}

const READINESS = { True: { text: 'Ready', badge: 'ok' }, False: { text: 'Not ready', badge: 'bad' }, Unknown: { text: 'Unknown', badge: 'unknown' } } as const;

export function NodeTable({ nodes, poolName }: { nodes: PoolNode[]; poolName: string }) {
  return (
    <ScrollTable label={`Nodes of pool ${poolName}`}>
      <table className="table nodes">
        <thead>
          <tr>
            <th scope="col">Node</th>
            <th scope="col">Phase</th>
            <th scope="col">Ready</th>
            <th scope="col">Kubelet</th>
            <th scope="col">Last heartbeat</th>
            <th scope="col">SSH probe</th>
            <th scope="col">Address</th>
          </tr>
        </thead>
        <tbody>
          {nodes.map((node) => (
            <tr key={node.id} data-node-phase={node.phase} data-ready={readiness(node) === 'True'} data-kubelet-version={node.kubeletVersion ?? undefined}>
              <td className="mono">{node.name}</td>
              <td>
                <PhaseBadge phase={node.phase} />
                {node.phaseReason && <span className="muted"> {node.phaseReason}</span>}
              </td>
              <td>
                <span className={`badge badge-${READINESS[readiness(node)].badge}`}>{READINESS[readiness(node)].text}</span>
              </td>
              <td className="mono">{node.kubeletVersion ?? <span className="muted">not reported yet</span>}</td>
              <td>
                <RelativeTime at={node.lastHeartbeatAt} />
              </td>
              <td>
                {node.sshProbe ? (
                  <span className={`badge badge-${node.sshProbe.ok ? 'ok' : 'bad'}`} title={node.sshProbe.message}>
                    {node.sshProbe.ok ? 'reachable' : 'failing'}
                  </span>
                ) : (
                  <span className="muted">not probed yet</span>
                )}
              </td>
              <td className="mono">{node.addresses.private ?? node.addresses.public ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollTable>
  );
}
