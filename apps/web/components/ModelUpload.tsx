'use client';
/**
 * Upload an ONNX file and, optionally, its tokenizer.json (both through `POST /upload`
 * as the team's uploads), then import them into the project (`importModel`). The import
 * finishes in a worker: the models list shows it as importing, then ready or failed.
 * The tokenizer is what lets runs score perplexity on text.
 */
import { useState, type FormEvent } from 'react';
import { gql, uploadBytes } from '../client/graphql';
import { IMPORT_MODEL } from '../client/queries';

export function ModelUpload({ projectId, teamId, onImported }: { projectId: string; teamId: string; onImported: () => Promise<void> }) {
  const [file, setFile] = useState<File | null>(null);
  const [tokenizer, setTokenizer] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!file) return;
    const form = e.currentTarget as HTMLFormElement;
    setBusy(true);
    setError(null);
    try {
      // Both uploads before the import, so importModel sees every hash it is given.
      const [model, tok] = await Promise.all([uploadBytes(file, teamId), tokenizer ? uploadBytes(tokenizer, teamId) : Promise.resolve(null)]);
      await gql(IMPORT_MODEL, {
        projectId,
        name: name || file.name.replace(/\.onnx$/i, ''),
        sha256: model.sha256,
        tokenizerSha256: tok?.sha256 ?? null,
      });
      setFile(null);
      setTokenizer(null);
      setName('');
      form.reset();
      await onImported();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} style={{ marginTop: '1.25rem' }} data-testid="model-upload">
      <div className="field">
        <label htmlFor="model-file">Upload an ONNX model</label>
        <input id="model-file" type="file" accept=".onnx" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
      </div>
      <div className="field">
        <label htmlFor="tokenizer-file">tokenizer.json (optional)</label>
        <input id="tokenizer-file" type="file" accept=".json,application/json" onChange={(e) => setTokenizer(e.target.files?.[0] ?? null)} />
        <span className="hint" data-testid="tokenizer-hint">
          The model&apos;s Hugging Face tokenizer. Without it, runs can&apos;t report perplexity.
        </span>
      </div>
      <div className="inline-form">
        <input aria-label="Model name" placeholder="Name (default: file name)" value={name} onChange={(e) => setName(e.target.value)} />
        <button className="button-secondary" type="submit" disabled={!file || busy}>
          {busy ? 'Uploading…' : 'Upload'}
        </button>
      </div>
      {error ? <div className="error" role="alert">{error}</div> : null}
    </form>
  );
}
