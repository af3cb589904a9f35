import type { Metadata } from 'next';

export const metadata: Metadata = { title: 'Log in' };

// A plain GET form: the browser navigates to /login?token=…, which the vmdeck
// server answers itself (sets the session cookie, redirects to /). It works
// without JavaScript.
export default async function LoginPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const sp = await searchParams;
  const error = typeof sp.error === 'string' ? sp.error : undefined;
  // The page to go back to after the login (the server checks it is one of the dashboard's), and why the session ended.
  const next = typeof sp.next === 'string' && sp.next.startsWith('/') && !sp.next.startsWith('//') ? sp.next : undefined;
  const ended = sp.ended !== undefined && !error;
  return (
    <div className="grid flex-1 place-items-center p-6">
      <form method="get" action="/login" className="w-full max-w-sm rounded border border-line bg-panel p-5 shadow-sm">
        <h1 className="mb-1 text-base font-semibold">Log in to vmdeck</h1>
        <p className="mb-4 text-xs text-muted">
          Paste the access token: the login URL that <code className="font-mono">vmdeck serve</code> printed carries it,
          and it is kept in <code className="font-mono">$VMDECK_HOME/token</code>.
        </p>
        {ended && (
          <p role="status" className="mb-3 rounded border border-line bg-surface px-2 py-1.5 text-xs">
            Your session ended: the dashboard restarted, or this browser was logged out.{next ? <> Log in again to go back to <span className="font-mono break-all">{next}</span>.</> : null}
          </p>
        )}
        {next && <input type="hidden" name="next" value={next} />}
        <label htmlFor="token" className="label">Access token</label>
        <input
          id="token"
          name="token"
          type="password"
          required
          autoFocus
          autoComplete="current-password"
          spellCheck={false}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'token-error' : undefined}
          className="input font-mono"
        />
        {error && <p id="token-error" className="field-error">{error}</p>}
        <button type="submit" className="btn btn-primary mt-4 w-full justify-center">Log in</button>
      </form>
    </div>
  );
}
