import { useId, useState, type SubmitEvent } from 'react';
import { ApiError, describeError } from '../api.js';
import { useSessionState } from '../session.js';

export function SignInPage() {
  const { signIn } = useSessionState();
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const fieldId = useId();
  const hintId = useId();

  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(token.trim());
    } catch (caught) {
      setError(
        caught instanceof ApiError && caught.status === 401 ? 'That token was not accepted: it may be mistyped, revoked or expired.' : describeError(caught),
      );
      setBusy(false);
    }
  };

  return (
    <main id="main" className="signin">
      <form className="card signin-card" onSubmit={(event) => void submit(event)} aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in to Harbormaster</h1>
        <label htmlFor={fieldId}>API token</label>
        <input
          id={fieldId}
          name="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          required
          value={token}
          onChange={(event) => setToken(event.target.value)}
          aria-describedby={hintId}
          aria-invalid={error ? true : undefined}
        />
        <p id={hintId} className="hint">
          Paste a token of the form <code>hm_…</code>. The first start prints the administrator’s token once. The token stays in this tab only.
        </p>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="button button-primary" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
