import { useId, useState, type SubmitEvent } from 'react';
import { describeError, projectPath, providerInfo, type Catalog, type Credential, type ProviderInfo } from '../api.js';
import { Empty, Loading, RelativeTime, ResourceView, ScrollTable } from '../components/states.js';
import { useResource } from '../hooks.js';
import { canEdit, roleIn, useSession } from '../session.js';

export function CredentialsPage({ projectId }: { projectId: string }) {
  const session = useSession();
  const credentials = useResource(() => session.api.list<Credential>(`${projectPath(projectId)}/credentials`), projectId);
  const catalog = useResource(() => session.api.get<Catalog>('/catalog'), 'catalog');
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
                        <td>{providerInfo(catalog.data, credential.provider)?.label ?? credential.provider}</td>
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
      {editable &&
        (catalog.error !== undefined ? (
          <p className="form-error" role="alert">
            {describeError(catalog.error)}
          </p>
        ) : catalog.data?.providers ? (
          <AddCredential projectId={projectId} providers={catalog.data.providers} onAdded={() => void credentials.reload()} />
        ) : (
          <Loading what="providers" />
        ))}
    </>
  );
}

/** The form's values: the common name, then every provider field by its request property. */
const initialValues = (provider: ProviderInfo | undefined): Record<string, string> =>
  Object.fromEntries<string>([['name', ''], ...(provider?.credentialFields ?? []).map((field): [string, string] => [field.name, field.default ?? ''])]);

/** Built from the catalog's provider definitions, so a new provider needs no portal change. */
function AddCredential({ projectId, providers, onAdded }: { projectId: string; providers: ProviderInfo[]; onAdded: () => void }) {
  const session = useSession();
  const ids = { name: useId(), provider: useId(), field: useId() };
  const [providerName, setProviderName] = useState(providers[0]?.name ?? '');
  const provider = providers.find((candidate) => candidate.name === providerName);
  const [form, setForm] = useState(() => initialValues(provider));
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const chooseProvider = (name: string) => {
    setProviderName(name);
    // Values typed for one provider (a secret among them) never travel with another.
    setForm({ ...initialValues(providers.find((candidate) => candidate.name === name)), name: form.name });
  };
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    if (!provider) return;
    setBusy(true);
    setError(undefined);
    const body: Record<string, string> = { provider: provider.name, name: (form.name ?? '').trim() };
    for (const field of provider.credentialFields) {
      const value = (form[field.name] ?? '').trim();
      if (value || field.required) body[field.name] = value;
    }
    try {
      await session.api.post(`${projectPath(projectId)}/credentials`, body);
      // The secret leaves the page as soon as it is stored.
      setForm(initialValues(provider));
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
            <select id={ids.provider} value={providerName} onChange={(event) => chooseProvider(event.target.value)}>
              {providers.map((candidate) => (
                <option key={candidate.name} value={candidate.name}>
                  {candidate.label}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={ids.name}>Name</label>
            <input id={ids.name} required value={form.name ?? ''} onChange={(event) => setForm({ ...form, name: event.target.value })} spellCheck={false} />
          </div>
          {provider?.credentialFields.map((field) => (
            <div className="field" key={`${provider.name}.${field.name}`}>
              <label htmlFor={`${ids.field}-${field.name}`}>{field.label}</label>
              <input
                id={`${ids.field}-${field.name}`}
                type={field.secret ? 'password' : 'text'}
                required={field.required}
                value={form[field.name] ?? ''}
                onChange={(event) => setForm({ ...form, [field.name]: event.target.value })}
                spellCheck={false}
                autoComplete={field.secret ? 'new-password' : undefined}
              />
            </div>
          ))}
        </div>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <div>
          <button type="submit" className="button button-primary" disabled={busy || !provider || !(form.name ?? '').trim()}>
            Add credential
          </button>
        </div>
      </form>
    </section>
  );
}
