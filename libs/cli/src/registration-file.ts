// A service's registration as a YAML file kept in its repository (`antibody services apply -f`):
// parsed with line positions, validated against the JSON Schema of the ServiceRegistered contract,
// then by the catalog itself (for what a JSON Schema cannot say), every problem named by field and line.
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, stringify, type Document, type Node } from 'yaml';
import { dataJsonSchemaFor, eventCatalog, type EventData } from '@antibody/contracts';

/** The registration a file describes: the data of ServiceRegistered. */
export type RegistrationData = EventData<'ServiceRegistered'>;

/** One thing wrong with a registration file. */
export interface RegistrationProblem {
  /** Dotted path of the field (`policy.budgets.dailyUsd`), empty for the file as a whole. */
  readonly path: string;
  /** 1-based line in the file. */
  readonly line: number;
  readonly message: string;
}

export type RegistrationFileResult = { readonly ok: true; readonly registration: RegistrationData } | { readonly ok: false; readonly problems: readonly RegistrationProblem[] };

let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: true, strict: false }).compile(dataJsonSchemaFor('ServiceRegistered'));
  return compiled;
}

/**
 * Reads a registration from YAML text. Never throws on bad input: YAML syntax errors, duplicate
 * keys, fields the contract does not know, missing or mistyped fields come back as problems, each
 * with its field's line, sorted by line.
 */
export function parseRegistrationFile(text: string): RegistrationFileResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const lineAt = (offset: number | undefined) => (offset === undefined ? 1 : lines.linePos(offset).line);
  if (doc.errors.length > 0) {
    return { ok: false, problems: sortProblems(doc.errors.map((error) => ({ path: '', line: lineAt(error.pos[0]), message: yamlMessage(error.code, error.message) }))) };
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problems: [{ path: '', line: 1, message: 'the file must be a YAML mapping with the registration (name, repository, commands, language, deploy, policy)' }] };
  }
  const validate = validator();
  if (!validate(value)) {
    const problems = dedupe((validate.errors ?? []).map((error) => problemOf(error, doc, lineAt)));
    // A misspelt required field is reported once, as the misspelling (which suggests the field).
    const suggested = new Set(problems.flatMap((p) => (p.suggestion ? [p.suggestion] : [])));
    return { ok: false, problems: sortProblems(problems.filter((p) => !(p.missing && suggested.has(p.path))).map(({ path, line, message }) => ({ path, line, message }))) };
  }
  // What JSON Schema cannot say (e.g. that adapter settings are plain JSON) the catalog checks.
  const checked = eventCatalog.validate('ServiceRegistered', 1, value);
  if (!checked.ok) {
    const path = checked.path.replace(/^data\.?/, '');
    const message = checked.message.startsWith(`${checked.path}: `) ? checked.message.slice(checked.path.length + 2) : checked.message;
    return { ok: false, problems: [{ path, line: lineOf(doc, path.split('.').filter(Boolean), lineAt), message: `${path || 'the registration'}: ${message}` }] };
  }
  return { ok: true, registration: value as RegistrationData };
}

/** The problems as one line for the terminal: the first in full, then where the others are. */
export function describeProblems(file: string, problems: readonly RegistrationProblem[]): string {
  const [first, ...rest] = problems;
  if (!first) return `${file}: invalid`;
  const more = rest.length === 0 ? '' : ` (${rest.length} more: ${rest.slice(0, 4).map((p) => `line ${p.line} ${p.path || 'syntax'}`).join(', ')}${rest.length > 4 ? ', …' : ''})`;
  return `${file}:${first.line}: ${first.message}${more}`;
}

/**
 * A registration as the YAML an operator keeps in the repository (`services show --yaml`), fields
 * in the contract's order (the store hands JSON objects back with their keys reordered).
 */
export function registrationYaml(registration: RegistrationData): string {
  return stringify(inContractOrder(registration, dataJsonSchemaFor('ServiceRegistered') as SchemaNode), { lineWidth: 0 });
}

function inContractOrder(value: unknown, schema: SchemaNode | undefined): unknown {
  if (Array.isArray(value)) return value.map((item) => inContractOrder(item, schema?.items));
  if (typeof value !== 'object' || value === null) return value;
  const record = value as Record<string, unknown>;
  const known = Object.keys(schema?.properties ?? {}).filter((key) => key in record);
  const rest = Object.keys(record).filter((key) => !known.includes(key)).sort();
  return Object.fromEntries([...known, ...rest].map((key) => [key, inContractOrder(record[key], schema?.properties?.[key])]));
}

/** A problem as found, with what relates a missing field to a misspelt one. */
interface FoundProblem extends RegistrationProblem {
  readonly missing?: true;
  /** The path of the known field a misspelt one probably means. */
  readonly suggestion?: string;
}

function problemOf(error: ErrorObject, doc: Document, lineAt: (offset: number | undefined) => number): FoundProblem {
  const at = pointerPath(error.instancePath);
  const field = at.join('.');
  const name = field || 'the registration';
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': {
      const missing = [...at, String(params['missingProperty'])];
      return { path: missing.join('.'), line: lineOf(doc, at, lineAt), message: `${missing.join('.')} is required`, missing: true };
    }
    case 'additionalProperties': {
      const extra = String(params['additionalProperty']);
      const known = Object.keys(schemaAt(at)?.properties ?? {});
      const guess = closest(extra, known);
      const path = [...at, extra];
      return {
        path: path.join('.'),
        line: keyLineOf(doc, path, lineAt),
        message: `${path.join('.')} is not a field of ${field || 'a registration'}${guess ? ` (did you mean ${[...at, guess].join('.')}?)` : known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`,
        ...(guess ? { suggestion: [...at, guess].join('.') } : {}),
      };
    }
    case 'type':
      return { path: field, line: lineOf(doc, at, lineAt), message: `${name} must be ${article(String(params['type']))}, got ${shown(doc, at)}` };
    case 'enum':
      return { path: field, line: lineOf(doc, at, lineAt), message: `${name} must be one of ${(params['allowedValues'] as unknown[]).join(', ')}, got ${shown(doc, at)}` };
    case 'minLength':
      return { path: field, line: lineOf(doc, at, lineAt), message: `${name} must not be empty` };
    case 'pattern':
      return { path: field, line: lineOf(doc, at, lineAt), message: `${name} must match ${String(params['pattern'])}, got ${shown(doc, at)}` };
    default:
      return { path: field, line: lineOf(doc, at, lineAt), message: `${name} ${error.message ?? 'is invalid'}` };
  }
}

interface SchemaNode {
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
}

/** The JSON Schema node at a path of the registration (objects and arrays), for "did you mean". */
function schemaAt(path: readonly string[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = dataJsonSchemaFor('ServiceRegistered') as SchemaNode;
  for (const key of path) node = /^\d+$/.test(key) ? node?.items : node?.properties?.[key];
  return node;
}

function pointerPath(pointer: string): string[] {
  return pointer === '' ? [] : pointer.slice(1).split('/').map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The line of the value at `path`, else of the nearest enclosing node that exists. */
function lineOf(doc: Document, path: readonly string[], lineAt: (offset: number | undefined) => number): number {
  for (let depth = path.length; depth > 0; depth--) {
    const line = keyLineOf(doc, path.slice(0, depth), lineAt, false);
    if (line !== undefined) return line;
  }
  return 1;
}

/** The line of the key (in a map) or item (in a sequence) at `path`. */
function keyLineOf(doc: Document, path: readonly string[], lineAt: (offset: number | undefined) => number): number;
function keyLineOf(doc: Document, path: readonly string[], lineAt: (offset: number | undefined) => number, fallback: false): number | undefined;
function keyLineOf(doc: Document, path: readonly string[], lineAt: (offset: number | undefined) => number, fallback = true): number | undefined {
  const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  const last = path[path.length - 1]!;
  if (isMap(parent)) {
    const pair = parent.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === last);
    const key = pair?.key as Node | undefined;
    if (key?.range) return lineAt(key.range[0]);
  } else if (isSeq(parent)) {
    const item = parent.items[Number(last)] as Node | undefined;
    if (item?.range) return lineAt(item.range[0]);
  }
  return fallback ? lineOf(doc, path.slice(0, -1), lineAt) : undefined;
}

function shown(doc: Document, path: readonly string[]): string {
  const value: unknown = path.length === 0 ? doc.toJS() : doc.getIn(path);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

function article(type: string): string {
  return type === 'object' ? 'a mapping' : type === 'array' ? 'a list' : /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function yamlMessage(code: string, message: string): string {
  if (code === 'DUPLICATE_KEY') return 'a key appears twice in the same mapping';
  return `YAML: ${message.replace(/\s+at line \d+, column \d+.*$/s, '')}`;
}

/** The known name nearest to `name` (edit distance at most a third of its length), if any. */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance <= Math.max(1, Math.floor(candidate.length / 3)) && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

function dedupe(problems: readonly FoundProblem[]): FoundProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\n${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function sortProblems(problems: readonly RegistrationProblem[]): RegistrationProblem[] {
  return [...problems].sort((a, b) => a.line - b.line);
}
