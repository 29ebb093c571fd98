import { useId, useState, type SubmitEvent } from 'react';
import { describeError, type Seed } from '../api.js';
import { Empty, PhaseBadge, RelativeTime, ResourceView, ScrollTable } from '../components/states.js';
import { useResource } from '../hooks.js';
import { useSession } from '../session.js';

export function SeedsPage() {
  const session = useSession();
  const seeds = useResource(() => (session.me.admin ? session.api.list<Seed>('/seeds') : Promise.resolve([])), 'seeds', 10_000);
  if (!session.me.admin) {
    return (
      <section>
        <h1>Seeds</h1>
        <Empty title="Seeds are managed by administrators." />
      </section>
    );
  }
  return (
    <>
      <div className="page-head">
        <h1>Seeds</h1>
        <p className="muted">the clusters that host tenant control planes</p>
      </div>
      <section aria-labelledby="seed-list-title">
        <h2 id="seed-list-title" className="visually-hidden">
          Registered seeds
        </h2>
        <ResourceView resource={seeds} what="seeds">
          {(items) =>
            items.length === 0 ? (
              <Empty title="No seeds registered.">
                <p>Register one below: clusters cannot be created until a seed exists.</p>
              </Empty>
            ) : (
              <ScrollTable label="Seeds">
                <table className="table">
                  <thead>
                    <tr>
                      <th scope="col">Seed</th>
                      <th scope="col">Capacity</th>
                      <th scope="col">Health</th>
                      <th scope="col">Scheduling</th>
                      <th scope="col">Actions</th>
                    </tr>
                  </thead>
                  <tbody>
                    {items.map((seed) => (
                      <SeedRow key={seed.id} seed={seed} onChanged={() => void seeds.reload()} />
                    ))}
                  </tbody>
                </table>
              </ScrollTable>
            )
          }
        </ResourceView>
      </section>
      <RegisterSeed onRegistered={() => void seeds.reload()} />
    </>
  );
}

function SeedRow({ seed, onChanged }: { seed: Seed; onChanged: () => void }) {
  const session = useSession();
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const percent = Math.round((seed.capacity.used / Math.max(1, seed.capacity.max)) * 100);
  const toggle = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await session.api.post(`/seeds/${seed.id}/${seed.cordoned ? 'uncordon' : 'cordon'}`);
      onChanged();
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <tr data-seed={seed.name}>
      <td>
        <strong>{seed.name}</strong>
        <div className="muted small">{[seed.provider, seed.region, seed.serverVersion].filter(Boolean).join(' · ')}</div>
      </td>
      <td>
        <span data-testid="seed-capacity">
          {seed.capacity.used} / {seed.capacity.max}
        </span>
        <meter min={0} max={seed.capacity.max} value={seed.capacity.used} aria-label={`${seed.name} capacity used`} title={`${percent}%`} />
      </td>
      <td>
        <PhaseBadge phase={seed.health.status} />
        <div className="muted small">
          {seed.health.message ?? ''} <RelativeTime at={seed.health.checkedAt} />
        </div>
      </td>
      <td>
        {seed.cordoned ? (
          <span className="badge badge-bad">cordoned</span>
        ) : seed.schedulable ? (
          <span className="badge badge-ok">schedulable</span>
        ) : (
          <span className="badge badge-unknown">full or unreachable</span>
        )}
      </td>
      <td>
        <button
          type="button"
          className="button"
          onClick={() => void toggle()}
          disabled={busy}
          aria-label={`${seed.cordoned ? 'Uncordon' : 'Cordon'} seed ${seed.name}`}
        >
          {seed.cordoned ? 'Uncordon' : 'Cordon'}
        </button>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
      </td>
    </tr>
  );
}

function RegisterSeed({ onRegistered }: { onRegistered: () => void }) {
  const session = useSession();
  const ids = { name: useId(), kubeconfig: useId(), region: useId(), provider: useId(), max: useId() };
  const [form, setForm] = useState({ name: '', kubeconfig: '', provider: '', region: '', maxClusters: 100 });
  const [error, setError] = useState<string | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      const seed = await session.api.post<Seed>('/seeds', {
        name: form.name.trim(),
        kubeconfig: form.kubeconfig,
        maxClusters: form.maxClusters,
        ...(form.provider.trim() ? { provider: form.provider.trim() } : {}),
        ...(form.region.trim() ? { region: form.region.trim() } : {}),
      });
      setForm({ name: '', kubeconfig: '', provider: '', region: '', maxClusters: 100 });
      setDone(`Seed ${seed.name} registered.`);
      onRegistered();
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="register-seed-title">
      <h2 id="register-seed-title">Register a seed</h2>
      <form onSubmit={(event) => void submit(event)} className="stack">
        <div className="grid">
          <div className="field">
            <label htmlFor={ids.name}>Name</label>
            <input id={ids.name} required value={form.name} onChange={(event) => setForm({ ...form, name: event.target.value })} autoComplete="off" />
          </div>
          <div className="field">
            <label htmlFor={ids.provider}>Provider (optional)</label>
            <input id={ids.provider} value={form.provider} onChange={(event) => setForm({ ...form, provider: event.target.value })} />
          </div>
          <div className="field">
            <label htmlFor={ids.region}>Region (optional)</label>
            <input id={ids.region} value={form.region} onChange={(event) => setForm({ ...form, region: event.target.value })} />
          </div>
          <div className="field">
            <label htmlFor={ids.max}>Maximum clusters</label>
            <input
              id={ids.max}
              type="number"
              min={1}
              max={10000}
              value={form.maxClusters}
              onChange={(event) => setForm({ ...form, maxClusters: Number(event.target.value) || 1 })}
            />
          </div>
        </div>
        <div className="field">
          <label htmlFor={ids.kubeconfig}>Kubeconfig</label>
          <textarea
            id={ids.kubeconfig}
            required
            rows={6}
            spellCheck={false}
            value={form.kubeconfig}
            onChange={(event) => setForm({ ...form, kubeconfig: event.target.value })}
          />
          <p className="hint">Stored encrypted; the API checks that the seed answers /version before it is registered.</p>
        </div>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        {done && (
          <p className="form-ok" role="status">
            {done}
          </p>
        )}
        <div>
          <button type="submit" className="button button-primary" disabled={busy || !form.name.trim() || !form.kubeconfig.trim()}>
            {busy ? 'Registering…' : 'Register seed'}
          </button>
        </div>
      </form>
    </section>
  );
}
