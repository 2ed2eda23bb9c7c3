'use client';
/**
 * A form generated from a technique's parameter JSON Schema: a checkbox for booleans, a
 * menu for enumerations, number and text inputs with their bounds, comma-separated lists,
 * nested objects as fieldsets (optional ones switched on by a checkbox). Problems are shown
 * under the field they concern. Several forms on one page (a recipe's steps) keep their
 * element ids apart with `idPrefix`.
 */
import { createContext, useContext, useEffect, useState } from 'react';
import { defaultParams, rangeLabel, typeLabel, type JsonSchema } from '../client/params-schema';
import { choicesOf, parseListInput, parseNumberInput } from '../client/params-input';
import type { ParamIssue } from '../client/params-validate';

type Obj = Record<string, unknown>;

function isRecord(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A copy of `obj` with `value` at `key` (removed when undefined). */
function withKey(obj: Obj, key: string, value: unknown): Obj {
  const next = { ...obj };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next;
}

const IdPrefix = createContext('');

function useFieldId(path: string): string {
  return `${useContext(IdPrefix)}param-${path.replace(/[^a-zA-Z0-9_-]/g, '-')}`;
}

interface FieldProps {
  name: string;
  path: string;
  schema: JsonSchema;
  value: unknown;
  required: boolean;
  issues: ParamIssue[];
  onChange(value: unknown): void;
}

function Issue({ path, issues }: { path: string; issues: ParamIssue[] }) {
  const id = useFieldId(path);
  const mine = issues.filter((i) => i.path === path || i.path.startsWith(`${path}[`));
  if (mine.length === 0) return null;
  return (
    <span className="field-error" role="alert" id={`${id}-error`} data-testid="param-error" data-path={path}>
      {mine.map((i) => `${i.path} ${i.message}`).join('; ')}
    </span>
  );
}

function TypedInput({ path, schema, value, invalid, onChange }: { path: string; schema: JsonSchema; value: unknown; invalid: boolean; onChange(v: unknown): void }) {
  const list = schema.type === 'array';
  const numeric = schema.type === 'integer' || schema.type === 'number';
  const format = (v: unknown) => (v === undefined ? '' : Array.isArray(v) ? v.join(', ') : String(v));
  const [raw, setRaw] = useState(() => format(value));
  const [last, setLast] = useState<unknown>(value);
  useEffect(() => {
    if (JSON.stringify(value) !== JSON.stringify(last)) {
      setRaw(format(value));
      setLast(value);
    }
  }, [value]);
  const id = useFieldId(path);
  return (
    <input
      id={id}
      type="text"
      inputMode={numeric ? 'decimal' : undefined}
      value={raw}
      placeholder={schema.default === undefined ? 'not set' : format(schema.default)}
      aria-invalid={invalid || undefined}
      aria-describedby={invalid ? `${id}-error` : undefined}
      onChange={(e) => {
        setRaw(e.target.value);
        const v = list ? parseListInput(e.target.value, schema.items) : numeric ? parseNumberInput(e.target.value) : e.target.value === '' && schema.default === undefined ? undefined : e.target.value;
        setLast(v);
        onChange(v);
      }}
    />
  );
}

function Field({ name, path, schema, value, required, issues, onChange }: FieldProps) {
  const id = useFieldId(path);
  const invalid = issues.some((i) => i.path === path || i.path.startsWith(`${path}[`) || i.path.startsWith(`${path}.`));
  const hint = [typeLabel(schema), rangeLabel(schema), schema.default !== undefined ? `default ${JSON.stringify(schema.default)}` : required ? 'required' : 'optional']
    .filter(Boolean)
    .join(' · ');
  const isObject = schema.type === 'object' && isRecord(schema.properties);
  if (isObject) {
    const present = isRecord(value);
    return (
      <fieldset className="param-group" data-param={path}>
        <legend>
          {required || schema.default !== undefined ? (
            name
          ) : (
            <label className="check">
              <input type="checkbox" checked={present} onChange={(e) => onChange(e.target.checked ? defaultParams(schema) : undefined)} /> {name}
            </label>
          )}
        </legend>
        {schema.description ? <span className="hint">{schema.description}</span> : null}
        {present || required || schema.default !== undefined ? (
          <ObjectFields schema={schema} value={present ? value : {}} path={path} issues={issues} onChange={onChange} />
        ) : null}
        <Issue path={path} issues={issues.filter((i) => i.path === path)} />
      </fieldset>
    );
  }
  const choices = choicesOf(schema);
  let control;
  if (schema.type === 'boolean') {
    control = <input id={id} type="checkbox" checked={value === true || (value === undefined && schema.default === true)} onChange={(e) => onChange(e.target.checked)} />;
  } else if (choices) {
    const current = value === undefined ? '' : JSON.stringify(value);
    control = (
      <select id={id} value={current} aria-invalid={invalid || undefined} onChange={(e) => onChange(e.target.value === '' ? undefined : JSON.parse(e.target.value))}>
        {required ? null : <option value="">{schema.default === undefined ? 'not set' : `default (${String(schema.default)})`}</option>}
        {choices.map((c) => (
          <option key={JSON.stringify(c)} value={JSON.stringify(c)}>
            {String(c)}
          </option>
        ))}
      </select>
    );
  } else {
    control = <TypedInput path={path} schema={schema} value={value} invalid={invalid} onChange={onChange} />;
  }
  return (
    <div className={`param-field${schema.type === 'boolean' ? ' param-bool' : ''}`} data-param={path}>
      <label htmlFor={id} className="mono">
        {name}
      </label>
      {control}
      <span className="hint">
        {hint}
        {schema.description ? ` — ${schema.description}` : ''}
      </span>
      <Issue path={path} issues={issues} />
    </div>
  );
}

function ObjectFields({ schema, value, path, issues, onChange }: { schema: JsonSchema; value: Obj; path: string; issues: ParamIssue[]; onChange(v: Obj): void }) {
  const required = new Set((schema as { required?: string[] }).required ?? []);
  const props = Object.entries(schema.properties ?? {});
  return (
    <div className="param-fields">
      {props.map(([name, prop]) => {
        const p = path ? `${path}.${name}` : name;
        return <Field key={p} name={name} path={p} schema={prop} value={value[name]} required={required.has(name)} issues={issues} onChange={(v) => onChange(withKey(value, name, v))} />;
      })}
    </div>
  );
}

export function SchemaForm({ schema, value, issues, onChange, idPrefix = '' }: { schema: unknown; value: Obj; issues: ParamIssue[]; onChange(v: Obj): void; idPrefix?: string }) {
  if (!isRecord(schema) || !isRecord(schema.properties) || Object.keys(schema.properties).length === 0) {
    return <p className="hint">This technique takes no parameters.</p>;
  }
  const unplaced = issues.filter((i) => !Object.keys(schema.properties as Obj).some((k) => i.path === k || i.path.startsWith(`${k}.`) || i.path.startsWith(`${k}[`)));
  return (
    <div className="schema-form" data-testid="params-form">
      <IdPrefix.Provider value={idPrefix}>
        <ObjectFields schema={schema as JsonSchema} value={value} path="" issues={issues} onChange={onChange} />
      </IdPrefix.Provider>
      {unplaced.map((i) => (
        <span key={i.path + i.message} className="field-error" role="alert" data-testid="param-error" data-path={i.path}>
          {i.path} {i.message}
        </span>
      ))}
    </div>
  );
}
