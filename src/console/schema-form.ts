/**
 * A form generated from the start node's JSON Schema: one field per property (string, number,
 * integer, boolean, object, array, date-time, enum), defaults filled in, required ones marked; it
 * reads the values back and shows each problem at its field.
 */
import { h } from './dom.js';
import type { JsonSchema } from './types.js';

interface Field {
  name: string;
  schema: JsonSchema;
  required: boolean;
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  error: HTMLElement;
}

export interface FormResult {
  values: Record<string, unknown>;
  errors: Record<string, string>;
}

const JSON_TYPES = new Set(['object', 'array']);

/** `2026-12-02T06:30` (datetime-local) from an ISO date-time, in local time. */
function localDateTime(value: unknown): string {
  const date = typeof value === 'string' ? new Date(value) : undefined;
  if (!date || Number.isNaN(date.getTime())) return '';
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export class SchemaForm {
  readonly element: HTMLElement;
  private readonly fields: Field[] = [];

  constructor(schema: JsonSchema | undefined, initial: Record<string, unknown> = {}) {
    const properties = schema?.properties ?? {};
    const required = new Set(Array.isArray(schema?.required) ? schema.required : []);
    this.element = h('div', { class: 'schema-form' });
    const names = Object.keys(properties);
    if (names.length === 0) this.element.appendChild(h('p', { class: 'muted' }, 'This workflow takes no inputs.'));
    names.forEach((name, index) => {
      const property = properties[name] ?? {};
      const id = `input-${index}`;
      const value = Object.prototype.hasOwnProperty.call(initial, name) ? initial[name] : property.default;
      const control = this.control(property, id, value);
      const error = h('p', { class: 'field-error', id: `${id}-error`, role: 'alert' });
      control.setAttribute('aria-describedby', `${id}-error`);
      control.setAttribute('data-field', name);
      const type = property.format === 'date-time' ? 'date-time' : (property.type ?? 'any');
      const label = h('label', { for: id }, name, required.has(name) ? h('span', { class: 'required', title: 'required' }, ' *') : null, h('span', { class: 'type' }, ` ${type}`));
      this.element.appendChild(
        h('div', { class: 'field' }, label, property.description ? h('p', { class: 'muted' }, property.description) : null, control, error),
      );
      this.fields.push({ name, schema: property, required: required.has(name), control, error });
    });
  }

  private control(schema: JsonSchema, id: string, value: unknown): Field['control'] {
    if (Array.isArray(schema.enum)) {
      const select = h('select', { id }, h('option', { value: '' }, '—'), schema.enum.map((option, i) => h('option', { value: String(i) }, String(option))));
      const index = schema.enum.findIndex((option) => option === value);
      if (index >= 0) select.value = String(index);
      return select;
    }
    if (schema.type === 'boolean') {
      const box = h('input', { id, type: 'checkbox' });
      box.checked = value === true;
      return box;
    }
    if (schema.type === 'number' || schema.type === 'integer') {
      return h('input', { id, type: 'number', step: schema.type === 'integer' ? '1' : 'any', value: typeof value === 'number' ? String(value) : '' });
    }
    if (schema.type === 'string' && schema.format === 'date-time') return h('input', { id, type: 'datetime-local', step: '1', value: localDateTime(value) });
    if (JSON_TYPES.has(schema.type ?? '') || schema.type === undefined) {
      const area = h('textarea', { id, rows: 4, spellcheck: 'false', class: 'mono' });
      area.value = value === undefined ? '' : JSON.stringify(value, null, 2);
      return area;
    }
    return h('input', { id, type: 'text', value: typeof value === 'string' ? value : value === undefined ? '' : String(value) });
  }

  /** The inputs as typed values, and what is wrong with each field (nothing when empty). */
  read(): FormResult {
    const values: Record<string, unknown> = {};
    const errors: Record<string, string> = {};
    for (const field of this.fields) {
      const { name, schema, control } = field;
      const raw = control instanceof HTMLInputElement && control.type === 'checkbox' ? control.checked : control.value;
      if (Array.isArray(schema.enum)) {
        if (raw === '') {
          if (field.required) errors[name] = 'is required';
        } else values[name] = schema.enum[Number(raw)];
        continue;
      }
      if (typeof raw === 'boolean') {
        values[name] = raw;
        continue;
      }
      if (raw.trim() === '') {
        if (field.required) errors[name] = 'is required';
        continue;
      }
      if (schema.type === 'number' || schema.type === 'integer') {
        const number = Number(raw);
        if (!Number.isFinite(number)) errors[name] = 'must be a number';
        else if (schema.type === 'integer' && !Number.isInteger(number)) errors[name] = 'must be a whole number';
        else values[name] = number;
      } else if (schema.type === 'string' && schema.format === 'date-time') {
        const date = new Date(raw);
        if (Number.isNaN(date.getTime())) errors[name] = 'must be a date and time';
        else values[name] = date.toISOString();
      } else if (JSON_TYPES.has(schema.type ?? '') || schema.type === undefined) {
        try {
          const parsed: unknown = JSON.parse(raw);
          if (schema.type === 'array' && !Array.isArray(parsed)) errors[name] = 'must be a JSON array';
          else if (schema.type === 'object' && (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))) errors[name] = 'must be a JSON object';
          else values[name] = parsed;
        } catch {
          errors[name] = 'must be valid JSON';
        }
      } else {
        values[name] = raw;
      }
    }
    return { values, errors };
  }

  /** Shows each error at its field; returns the messages no field claimed. */
  showErrors(errors: Record<string, string>): string[] {
    const unclaimed = { ...errors };
    for (const field of this.fields) {
      const message = errors[field.name];
      field.error.textContent = message ? `${field.name} ${message}` : '';
      field.control.toggleAttribute('aria-invalid', message !== undefined);
      delete unclaimed[field.name];
    }
    return Object.entries(unclaimed).map(([name, message]) => `${name}: ${message}`);
  }

  focusFirstError(): void {
    this.fields.find((field) => field.control.hasAttribute('aria-invalid'))?.control.focus();
  }
}
