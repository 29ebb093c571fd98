import type { Cluster } from '../../api.js';
import { Empty, RelativeTime, ScrollTable } from '../../components/states.js';

export function Conditions({ cluster }: { cluster: Cluster }) {
  return (
    <section aria-labelledby="conditions-title">
      <h2 id="conditions-title">Conditions</h2>
      {cluster.conditions.length === 0 ? (
        <Empty title="No conditions reported yet." />
      ) : (
        <ScrollTable label="Conditions">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col">Status</th>
                <th scope="col">Reason</th>
                <th scope="col">Message</th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              {cluster.conditions.map((condition) => (
                <tr key={condition.type}>
                  <td>{condition.type}</td>
                  <td>
                    <span className={`badge badge-${condition.status === 'True' ? 'ok' : condition.status === 'False' ? 'bad' : 'unknown'}`}>
                      {condition.status}
                    </span>
                  </td>
                  <td>{condition.reason}</td>
                  <td className="wrap">{condition.message}</td>
                  <td>
                    <RelativeTime at={condition.lastTransitionTime} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollTable>
      )}
    </section>
  );
}
