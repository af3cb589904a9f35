'use client';
// Labelled inputs for the wizard. Each shows, under itself, the server's own
// message when the last preview named its field.
import { createContext, useContext } from 'react';

export interface FieldState {
  /** The field the server's last refusal named, and its one-line message. */
  errorField: string | null;
  error: string | null;
}

export const FieldErrors = createContext<FieldState>({ errorField: null, error: null });

export function useFieldError(name: string): string | null {
  const s = useContext(FieldErrors);
  return s.errorField === name ? s.error : null;
}

export const fieldId = (name: string) => `f-${name}`;
const errorId = (name: string) => `f-${name}-error`;
const hintId = (name: string) => `f-${name}-hint`;

/** Props that tie an input to its label, hint and error. */
export function useInputProps(name: string, hint?: React.ReactNode) {
  const error = useFieldError(name);
  const describedBy = [error ? errorId(name) : '', hint ? hintId(name) : ''].filter(Boolean).join(' ') || undefined;
  return { id: fieldId(name), name, 'aria-invalid': error ? true : undefined, 'aria-describedby': describedBy } as const;
}

export function Field({ name, label, hint, children, className = '' }: {
  name: string;
  label: React.ReactNode;
  hint?: React.ReactNode;
  children: React.ReactNode;
  className?: string;
}) {
  const error = useFieldError(name);
  return (
    <div className={className} data-field={name}>
      <label htmlFor={fieldId(name)} className="label">{label}</label>
      {children}
      {hint && !error && <p id={hintId(name)} className="mt-1 text-xs text-muted">{hint}</p>}
      {error && <p id={errorId(name)} role="alert" className="field-error">{error}</p>}
    </div>
  );
}

export function TextField({ name, label, value, onChange, hint, placeholder, mono, className, inputClassName = '', after, autoFocus }: {
  name: string;
  label: React.ReactNode;
  value: string;
  onChange: (v: string) => void;
  hint?: React.ReactNode;
  placeholder?: string;
  mono?: boolean;
  className?: string;
  inputClassName?: string;
  after?: React.ReactNode;
  autoFocus?: boolean;
}) {
  const props = useInputProps(name, hint);
  return (
    <Field name={name} label={label} hint={hint} className={className}>
      <div className="flex gap-1.5">
        <input
          {...props}
          type="text"
          value={value}
          placeholder={placeholder}
          autoFocus={autoFocus}
          spellCheck={false}
          autoComplete="off"
          onChange={(e) => onChange(e.target.value)}
          className={`input ${mono ? 'font-mono text-xs' : ''} ${inputClassName}`}
        />
        {after}
      </div>
    </Field>
  );
}

/** A whole number; anything else is sent as typed, so the server names the problem. */
export function NumberField({ name, label, value, onChange, hint, min, max, step, unit, className }: {
  name: string;
  label: React.ReactNode;
  value: number | string | undefined;
  onChange: (v: number | string) => void;
  hint?: React.ReactNode;
  min?: number;
  max?: number;
  step?: number;
  unit?: string;
  className?: string;
}) {
  const props = useInputProps(name, hint);
  return (
    <Field name={name} label={label} hint={hint} className={className}>
      <div className="flex items-center gap-1.5">
        <input
          {...props}
          type="number"
          inputMode="numeric"
          min={min}
          max={max}
          step={step}
          value={value ?? ''}
          onChange={(e) => {
            const v = e.target.value;
            onChange(/^\d+$/.test(v) ? Number(v) : v);
          }}
          className="input w-32 tabular-nums"
        />
        {unit && <span className="text-xs text-muted">{unit}</span>}
      </div>
    </Field>
  );
}

export function SelectField<T extends string>({ name, label, value, options, onChange, hint, className }: {
  name: string;
  label: React.ReactNode;
  value: T;
  options: readonly (T | { value: T; label: string })[];
  onChange: (v: T) => void;
  hint?: React.ReactNode;
  className?: string;
}) {
  const props = useInputProps(name, hint);
  return (
    <Field name={name} label={label} hint={hint} className={className}>
      <select {...props} value={value} onChange={(e) => onChange(e.target.value as T)} className="input">
        {options.map((o) => {
          const opt = typeof o === 'string' ? { value: o, label: o || '(default)' } : o;
          return <option key={opt.value} value={opt.value}>{opt.label}</option>;
        })}
      </select>
    </Field>
  );
}

export interface Choice<T extends string> {
  value: T;
  label: string;
  description?: React.ReactNode;
  /** Why it cannot be chosen; the choice is greyed and says so. */
  disabled?: React.ReactNode;
}

/** A radio group as a fieldset: arrow keys move between choices. */
/** errorOf: the server field whose message shows here, when it is not name (a choice about that field). */
export function ChoiceField<T extends string>({ name, errorOf, legend, value, choices, onChange, columns = 1 }: {
  name: string;
  errorOf?: string;
  legend: React.ReactNode;
  value: T;
  choices: Choice<T>[];
  onChange: (v: T) => void;
  columns?: 1 | 2 | 3;
}) {
  const ownError = useFieldError(name);
  const otherError = useFieldError(errorOf ?? name);
  const error = errorOf ? otherError : ownError;
  const grid = columns === 3 ? 'grid-cols-1 sm:grid-cols-3' : columns === 2 ? 'grid-cols-1 sm:grid-cols-2' : 'grid-cols-1';
  return (
    <fieldset data-field={name} aria-describedby={error ? errorId(name) : undefined} aria-invalid={error ? true : undefined}>
      <legend className="label">{legend}</legend>
      <div className={`grid gap-1.5 ${grid}`}>
        {choices.map((c, i) => {
          // The first choice carries the field's id, so that "go to field" lands in the group.
          const id = i === 0 ? fieldId(name) : `${fieldId(name)}-${c.value || 'none'}`;
          const checked = c.value === value;
          return (
            <label
              key={c.value}
              htmlFor={id}
              className={`flex items-start gap-2 rounded border px-2.5 py-1.5 ${checked ? 'border-accent bg-accent/8' : 'border-line'} ${c.disabled ? 'cursor-not-allowed opacity-55' : 'cursor-pointer hover:bg-panel'}`}
            >
              <input
                type="radio"
                id={id}
                name={name}
                value={c.value}
                checked={checked}
                disabled={Boolean(c.disabled)}
                onChange={() => onChange(c.value)}
                className="mt-0.5 accent-(--accent)"
              />
              <span className="min-w-0">
                <span className="font-medium">{c.label}</span>
                {c.description && <span className="block text-xs text-muted">{c.description}</span>}
                {c.disabled && <span className="block text-xs text-muted">{c.disabled}</span>}
              </span>
            </label>
          );
        })}
      </div>
      {error && <p id={errorId(name)} role="alert" className="field-error">{error}</p>}
    </fieldset>
  );
}
