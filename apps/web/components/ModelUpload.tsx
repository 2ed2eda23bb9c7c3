'use client';
/** Upload an ONNX file (`POST /upload`) and import it into the project (`importModel`). */
import { useState, type FormEvent } from 'react';
import { gql, uploadBytes } from '../client/graphql';
import { IMPORT_MODEL } from '../client/queries';

export function ModelUpload({ projectId, onImported }: { projectId: string; onImported: () => Promise<void> }) {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    setError(null);
    try {
      const { sha256 } = await uploadBytes(file);
      await gql(IMPORT_MODEL, { projectId, name: name || file.name.replace(/\.onnx$/i, ''), sha256 });
      setFile(null);
      setName('');
      (e.target as HTMLFormElement).reset();
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
