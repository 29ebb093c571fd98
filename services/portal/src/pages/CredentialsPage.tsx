import { useId, useState, type SubmitEvent } from 'react';
import { describeError, projectPath, type Credential, type Provider } from '../api.js';
import { Empty, RelativeTime, ResourceView, ScrollTable } from '../components/states.js';
import { useResource } from '../hooks.js';
import { canEdit, roleIn, useSession } from '../session.js';

export function CredentialsPage({ projectId }: { projectId: string }) {
  const session = useSession();
  const credentials = useResource(() => session.api.list<Credential>(`${projectPath(projectId)}/credentials`), projectId);
  const editable = canEdit(roleIn(session, projectId));
  const [error, setError] = useState<string | undefined>(undefined);
  const remove = async (credential: Credential) => {
    setError(undefined);
    try {
      await session.api.delete(`${projectPath(projectId)}/credentials/${credential.id}`);
      await credentials.reload();
    } catch (caught) {
      setError(describeError(caught));
    }
  };
  return (
    <>
      <div className="page-head">
        <h1>Provider credentials</h1>
        <p className="muted">used to create worker nodes; stored encrypted and never shown again</p>
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <section aria-labelledby="credential-list-title">
        <h2 id="credential-list-title" className="visually-hidden">
          Credentials
        </h2>
        <ResourceView resource={credentials} what="credentials">
          {(items) =>
            items.length === 0 ? (
              <Empty title="No provider credentials.">{editable && <p>Add one below to give new clusters a node pool.</p>}</Empty>
            ) : (
              <ScrollTable label="Credentials">
                <table className="table">
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Provider</th>
                      <th scope="col">Region</th>
                      <th scope="col">Added</th>
                      {editable && <th scope="col">Actions</th>}
                    </tr>
                  </thead>
                  <tbody>
                    {items.map((credential) => (
                      <tr key={credential.id}>
                        <td>{credential.name}</td>
                        <td>{credential.provider === 'aws' ? 'AWS' : 'DigitalOcean'}</td>
                        <td>{credential.summary.region ?? '—'}</td>
                        <td>
                          <RelativeTime at={credential.createdAt} />
                        </td>
                        {editable && (
                          <td>
                            <button
                              type="button"
                              className="button button-quiet"
                              onClick={() => void remove(credential)}
                              aria-label={`Delete credential ${credential.name}`}
                            >
                              Delete
                            </button>
                          </td>
                        )}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </ScrollTable>
            )
          }
        </ResourceView>
      </section>
      {editable && <AddCredential projectId={projectId} onAdded={() => void credentials.reload()} />}
    </>
  );
}

function AddCredential({ projectId, onAdded }: { projectId: string; onAdded: () => void }) {
  const session = useSession();
  const ids = { name: useId(), provider: useId(), key: useId(), secret: useId(), region: useId(), token: useId() };
  const empty = { name: '', accessKeyId: '', secretAccessKey: '', region: 'eu-central-1', token: '' };
  const [provider, setProvider] = useState<Provider>('digitalocean');
  const [form, setForm] = useState(empty);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    const body =
      provider === 'aws'
        ? { provider, name: form.name.trim(), accessKeyId: form.accessKeyId.trim(), secretAccessKey: form.secretAccessKey.trim(), region: form.region.trim() }
        : { provider, name: form.name.trim(), token: form.token.trim() };
    try {
      await session.api.post(`${projectPath(projectId)}/credentials`, body);
      // The secret leaves the page as soon as it is stored.
      setForm(empty);
      onAdded();
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="add-credential-title">
      <h2 id="add-credential-title">Add a credential</h2>
      <form onSubmit={(event) => void submit(event)} className="stack" autoComplete="off">
        <div className="grid">
          <div className="field">
            <label htmlFor={ids.provider}>Provider</label>
            <select id={ids.provider} value={provider} onChange={(event) => setProvider(event.target.value as Provider)}>
              <option value="digitalocean">DigitalOcean</option>
              <option value="aws">AWS</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor={ids.name}>Name</label>
            <input id={ids.name} required value={form.name} onChange={(event) => setForm({ ...form, name: event.target.value })} spellCheck={false} />
          </div>
          {provider === 'aws' ? (
            <>
              <div className="field">
                <label htmlFor={ids.key}>Access key id</label>
                <input
                  id={ids.key}
                  required
                  value={form.accessKeyId}
                  onChange={(event) => setForm({ ...form, accessKeyId: event.target.value })}
                  spellCheck={false}
                />
              </div>
              <div className="field">
                <label htmlFor={ids.secret}>Secret access key</label>
                <input
                  id={ids.secret}
                  type="password"
                  required
                  value={form.secretAccessKey}
                  onChange={(event) => setForm({ ...form, secretAccessKey: event.target.value })}
                  autoComplete="new-password"
                />
              </div>
              <div className="field">
                <label htmlFor={ids.region}>Region</label>
                <input id={ids.region} required value={form.region} onChange={(event) => setForm({ ...form, region: event.target.value })} />
              </div>
            </>
          ) : (
            <div className="field">
              <label htmlFor={ids.token}>API token</label>
              <input
                id={ids.token}
                type="password"
                required
                value={form.token}
                onChange={(event) => setForm({ ...form, token: event.target.value })}
                autoComplete="new-password"
              />
            </div>
          )}
        </div>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <div>
          <button type="submit" className="button button-primary" disabled={busy || !form.name.trim()}>
            Add credential
          </button>
        </div>
      </form>
    </section>
  );
}
