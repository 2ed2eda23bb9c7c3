/** Text the base model and the output generated from the same prompts, side by side (plain text, never HTML). */
import type { SamplePair } from '../client/run-evaluation';

export function SamplesSideBySide({ samples }: { samples: SamplePair[] }) {
  return (
    <div className="samples" data-testid="samples">
      {samples.map((s, i) => (
        <article key={i} className="sample" data-testid="sample">
          <p className="sample-prompt">
            <span className="muted">Prompt</span> <q>{s.prompt}</q>
          </p>
          <div className="sample-pair">
            <div>
              <h3>Base model</h3>
              {s.base ? (
                <>
                  <p className="sample-text" data-cell="base-greedy">{s.base.greedy}</p>
                  <p className="sample-text muted">sampled: {s.base.sampled}</p>
                </>
              ) : (
                <p className="empty">Not generated.</p>
              )}
            </div>
            <div>
              <h3>Output</h3>
              <p className="sample-text" data-cell="output-greedy">{s.output.greedy}</p>
              <p className="sample-text muted">sampled: {s.output.sampled}</p>
            </div>
          </div>
        </article>
      ))}
    </div>
  );
}
