import { useId, useState, type SubmitEvent } from 'react';
import { describeError, type Token } from '../api.js';
import { Empty, RelativeTime, ResourceView, ScrollTable } from '../components/states.js';
import { useResource } from '../hooks.js';
import { useSession } from '../session.js';

export function TokensPage() {
  const session = useSession();
  const tokens = useResource(() => session.api.list<Token>('/tokens'), 'tokens');
  const [created, setCreated] = useState<Token | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const revoke = async (token: Token) => {
    setError(undefined);
    try {
      await session.api.delete(`/tokens/${token.id}`);
      await tokens.reload();
    } catch (caught) {
      setError(describeError(caught));
    }
  };
  return (
    <>
      <div className="page-head">
        <h1>API tokens</h1>
        <p className="muted">for {session.me.email}</p>
      </div>
      <CreateToken
        onCreated={(token) => {
          setCreated(token);
          void tokens.reload();
        }}
      />
      {created?.token && (
        <div className="card secret" role="status">
          <p>
            <strong>Token “{created.name}” created.</strong> Copy it now: it is shown only once.
          </p>
          <label htmlFor="new-token" className="visually-hidden">
            The new token
          </label>
          <input id="new-token" className="mono" readOnly value={created.token} onFocus={(event) => event.target.select()} />
          <button type="button" className="button" onClick={() => setCreated(undefined)}>
            I have copied it
          </button>
        </div>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <section aria-labelledby="token-list-title">
        <h2 id="token-list-title">Your tokens</h2>
        <ResourceView resource={tokens} what="tokens">
          {(items) =>
            items.length === 0 ? (
              <Empty title="No tokens." />
            ) : (
              <ScrollTable label="API tokens">
                <table className="table">
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Created</th>
                      <th scope="col">Last used</th>
                      <th scope="col">Expires</th>
                      <th scope="col">Actions</th>
                    </tr>
                  </thead>
                  <tbody>
                    {items.map((token) => (
                      <tr key={token.id}>
                        <td>{token.name}</td>
                        <td>
                          <RelativeTime at={token.createdAt} />
                        </td>
                        <td>
                          <RelativeTime at={token.lastUsedAt} />
                        </td>
                        <td>{token.expiresAt ? new Date(token.expiresAt).toLocaleDateString() : 'never'}</td>
                        <td>
                          {token.revokedAt ? (
                            <span className="muted">revoked</span>
                          ) : (
                            <button type="button" className="button button-quiet" onClick={() => void revoke(token)} aria-label={`Revoke token ${token.name}`}>
                              Revoke
                            </button>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </ScrollTable>
            )
          }
        </ResourceView>
      </section>
    </>
  );
}

function CreateToken({ onCreated }: { onCreated: (token: Token) => void }) {
  const session = useSession();
  const ids = { name: useId(), expires: useId() };
  const [name, setName] = useState('');
  const [expires, setExpires] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    setError(undefined);
    try {
      const token = await session.api.post<Token>('/tokens', { name: name.trim(), ...(expires ? { expiresInDays: Number(expires) } : {}) });
      setName('');
      setExpires('');
      onCreated(token);
    } catch (caught) {
      setError(describeError(caught));
    }
  };
  return (
    <section className="card" aria-labelledby="create-token-title">
      <h2 id="create-token-title">Create a token</h2>
      <form onSubmit={(event) => void submit(event)} className="inline-form">
        <div className="field">
          <label htmlFor={ids.name}>Name</label>
          <input id={ids.name} required value={name} onChange={(event) => setName(event.target.value)} autoComplete="off" />
        </div>
        <div className="field">
          <label htmlFor={ids.expires}>Expires in days (optional)</label>
          <input id={ids.expires} type="number" min={1} max={365} value={expires} onChange={(event) => setExpires(event.target.value)} />
        </div>
        <button type="submit" className="button button-primary" disabled={!name.trim()}>
          Create token
        </button>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}
