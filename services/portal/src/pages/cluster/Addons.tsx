import type { ClusterSummary } from '../../api.js';
import { Empty, ScrollTable } from '../../components/states.js';

const TONE = { True: 'ok', False: 'bad', Unknown: 'unknown' } as const;

/** The add-ons of the user cluster (networking, DNS, tunnel, metrics) as the summary reports them. */
export function Addons({ summary }: { summary: ClusterSummary }) {
  return (
    <section aria-labelledby="addons-title">
      <h2 id="addons-title">Add-ons</h2>
      {summary.addons.length === 0 ? (
        <Empty title="No add-on has reported yet." />
      ) : (
        <ScrollTable label="Add-ons">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Add-on</th>
                <th scope="col">Status</th>
                <th scope="col">Reason</th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {summary.addons.map((addon) => (
                <tr key={addon.condition} data-addon={addon.condition} data-status={addon.status}>
                  <td>
                    {addon.name} <span className="muted">({addon.condition})</span>
                  </td>
                  <td>
                    <span className={`badge badge-${TONE[addon.status]}`}>
                      {addon.status === 'True' ? 'Ready' : addon.status === 'False' ? 'Not ready' : 'Unknown'}
                    </span>
                  </td>
                  <td>{addon.reason}</td>
                  <td className="wrap">{addon.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </ScrollTable>
      )}
    </section>
  );
}
