'use client';
/**
 * Upload a model file with, optionally, its tokenizer.json and config.json (each through
 * `POST /upload` as the team's uploads), then import them into the project
 * (`importModel`). The file may be ONNX, GGUF, a llama2.c checkpoint or the
 * model.safetensors of a Hugging Face folder (which needs the folder's config.json), or a
 * sharded folder's model.safetensors.index.json with its shards (uploaded one by one); the
 * worker reads the format from the bytes and converts it. The import finishes in a
 * worker: the models list shows it as importing, then ready (with its import report) or
 * failed. The tokenizer is what lets runs score perplexity on text.
 */
import { useState, type FormEvent } from 'react';
import { gql, uploadBytes } from '../client/graphql';
import { IMPORT_MODEL } from '../client/queries';

const MODEL_EXTENSION = /(\.safetensors\.index\.json|\.onnx|\.gguf|\.safetensors|\.bin)$/i;

export function ModelUpload({ projectId, teamId, onImported }: { projectId: string; teamId: string; onImported: () => Promise<void> }) {
  const [file, setFile] = useState<File | null>(null);
  const [tokenizer, setTokenizer] = useState<File | null>(null);
  const [config, setConfig] = useState<File | null>(null);
  const [shards, setShards] = useState<File[]>([]);
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
      // Every upload before the import, so importModel sees every hash it is given.
      const [model, tok, conf] = await Promise.all([
        uploadBytes(file, teamId),
        tokenizer ? uploadBytes(tokenizer, teamId) : Promise.resolve(null),
        config ? uploadBytes(config, teamId) : Promise.resolve(null),
      ]);
      // Shards one at a time: each is streamed by the browser, and a large folder does not open many requests at once.
      const files: { name: string; sha256: string }[] = [];
      for (const shard of shards) files.push({ name: shard.name, sha256: (await uploadBytes(shard, teamId)).sha256 });
      await gql(IMPORT_MODEL, {
        projectId,
        name: name || file.name.replace(MODEL_EXTENSION, ''),
        sha256: model.sha256,
        tokenizerSha256: tok?.sha256 ?? null,
        configSha256: conf?.sha256 ?? null,
        files: files.length > 0 ? files : null,
      });
      setFile(null);
      setShards([]);
      setTokenizer(null);
      setConfig(null);
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
        <label htmlFor="model-file">Upload a model</label>
        <input id="model-file" type="file" accept=".onnx,.gguf,.safetensors,.bin,.json" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        <span className="hint">
          ONNX, GGUF, a llama2.c checkpoint, or the model.safetensors (model.safetensors.index.json when sharded) of a Hugging Face folder. Other formats are converted to ONNX on
          import.
        </span>
      </div>
      <div className="field">
        <label htmlFor="tokenizer-file">tokenizer.json (optional)</label>
        <input id="tokenizer-file" type="file" accept=".json,application/json" onChange={(e) => setTokenizer(e.target.files?.[0] ?? null)} />
        <span className="hint" data-testid="tokenizer-hint">
          The model&apos;s Hugging Face tokenizer. Without it, runs can&apos;t report perplexity (a GGUF file carries its own).
        </span>
      </div>
      <div className="field">
        <label htmlFor="config-file">config.json (for safetensors)</label>
        <input id="config-file" type="file" accept=".json,application/json" onChange={(e) => setConfig(e.target.files?.[0] ?? null)} />
        <span className="hint">The Hugging Face folder&apos;s config.json: a model.safetensors takes its shape from it.</span>
      </div>
      <div className="field">
        <label htmlFor="shard-files">Shards (sharded safetensors)</label>
        <input id="shard-files" type="file" multiple accept=".safetensors" onChange={(e) => setShards(Array.from(e.target.files ?? []))} />
        <span className="hint">Every model-0000N-of-0000M.safetensors the index names, with the index as the model file.</span>
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
