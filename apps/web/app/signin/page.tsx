'use client';
import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { gql } from '../../client/graphql';
import { SIGN_UP } from '../../client/queries';
import { signIn } from '../../client/session';

export default function SignInPage() {
  const router = useRouter();
  const [mode, setMode] = useState<'signin' | 'signup'>('signin');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (mode === 'signup') await gql(SIGN_UP, { email, password, name: name || null });
      try {
        await signIn(email, password);
      } catch (err) {
        // Sign-up answers the same for a registered address; only signing in can tell.
        if (mode === 'signup') throw new Error(`${(err as Error).message}. If this address was registered before, sign in with its existing password.`);
        throw err;
      }
      router.push('/');
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="welcome">
      <section className="pitch" aria-labelledby="pitch-head">
        <h1 id="pitch-head">Distillery</h1>
        <p>
          Make a language model smaller and faster, and see exactly what it cost. Bring an ONNX model (or start from the bundled reference model), pick a
          compression recipe, and Distillery runs it and measures the result against the original.
        </p>
        <ul>
          <li>
            <strong>Compress</strong>: quantization (8 down to 2 bits), pruning, low-rank factorization, weight sharing and distillation, alone or chained.
          </li>
          <li>
            <strong>Measure</strong>: size on disk, perplexity, agreement with the original model, latency and memory, every run scored the same way.
          </li>
          <li>
            <strong>Compare</strong>: every run of the team is kept, so you can line runs up, see the size/quality trade-off and pick the model to ship.
          </li>
        </ul>
        <p className="muted">The models you get are ordinary ONNX files that stock ONNX Runtime and transformers.js load.</p>
      </section>
      <div className="auth card">
        <h1>{mode === 'signin' ? 'Sign in to Distillery' : 'Create your account'}</h1>
        <form onSubmit={submit}>
          {mode === 'signup' ? (
            <div className="field">
              <label htmlFor="name">Name</label>
              <input id="name" name="name" value={name} onChange={(e) => setName(e.target.value)} autoComplete="name" />
            </div>
          ) : null}
          <div className="field">
            <label htmlFor="email">Email</label>
            <input id="email" name="email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} autoComplete="email" />
          </div>
          <div className="field">
            <label htmlFor="password">Password</label>
            <input
              id="password"
              name="password"
              type="password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              autoComplete={mode === 'signin' ? 'current-password' : 'new-password'}
            />
          </div>
          {error ? <div className="error" role="alert">{error}</div> : null}
          <button className="button" type="submit" disabled={busy}>
            {mode === 'signin' ? 'Sign in' : 'Sign up'}
          </button>
        </form>
        <p className="switch muted">
          {mode === 'signin' ? 'No account yet? ' : 'Already registered? '}
          <button type="button" className="button-link" onClick={() => setMode(mode === 'signin' ? 'signup' : 'signin')}>
            {mode === 'signin' ? 'Create one' : 'Sign in'}
          </button>
        </p>
      </div>
    </main>
  );
}
