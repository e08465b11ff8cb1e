// Pure formatting of the console's incidents for people: the list as a table, one incident as one
// screen (what failed, the diagnosis, each patch with its diff and verdict, the rollout, cost, trace,
// fix). No I/O. Reads the console API's answers (docs/console-api.md); a field it does not know is
// skipped, never an error.
import { NONE, shortId } from './format';

/** What the CLI reads of a row of `GET /v1/incidents` (the console's IncidentRow). */
export interface IncidentListItem {
  readonly incidentId: string;
  readonly service: string;
  readonly title: string;
  readonly culprit?: string | null;
  readonly release?: string | null;
  readonly status: string;
  readonly round?: number;
  readonly samples?: number;
  readonly occurrences?: number;
  readonly firstSeen?: string;
  readonly lastSeen?: string;
  readonly chosenPatchId?: string | null;
  readonly pullRequestUrl?: string | null;
  readonly costUsd?: number;
  readonly traceId?: string | null;
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** What the CLI reads of `GET /v1/incidents/{id}`: the row, plus the detail and the timeline. */
export interface IncidentDetail extends IncidentListItem {
  readonly [key: string]: unknown;
}

/** How to print: colours only when stdout is a terminal. */
export interface ScreenOptions {
  readonly color?: boolean;
}

const ANSI = { red: 31, green: 32, yellow: 33, cyan: 36, bold: 1, dim: 2 } as const;
type Colour = keyof typeof ANSI;

function paint(options: ScreenOptions): (colour: Colour, text: string) => string {
  return (colour, text) => (options.color ? `\u001b[${ANSI[colour]}m${text}\u001b[0m` : text);
}

/** Cost as dollars with 4 decimals (LLM calls cost fractions of a cent). */
export function formatUsd(usd: number | undefined): string {
  return `$${(usd ?? 0).toFixed(4)}`;
}

/** The incidents list: a header and one line per incident (short id, status, service, counts, cost, title). */
export function formatIncidentTable(items: readonly IncidentListItem[]): string[] {
  if (items.length === 0) return ['no incidents'];
  const rows = items.map((item) => [
    shortId(item.incidentId),
    item.status,
    item.service,
    String(item.occurrences ?? 0),
    item.lastSeen ? isoSeconds(item.lastSeen) : NONE,
    formatUsd(item.costUsd),
    item.title,
  ]);
  const header = ['ID', 'STATUS', 'SERVICE', 'SEEN', 'LAST SEEN', 'COST', 'TITLE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** A unified diff, with added lines green, removed lines red and hunk headers cyan when colour is on. */
export function formatDiff(diff: string, options: ScreenOptions = {}): string[] {
  const c = paint(options);
  return diff
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => {
      if (line.startsWith('+++') || line.startsWith('---')) return c('bold', line);
      if (line.startsWith('@@')) return c('cyan', line);
      if (line.startsWith('+')) return c('green', line);
      if (line.startsWith('-')) return c('red', line);
      return line;
    });
}

/** One patch's verdict in a line or two: validated, rejected (stage and reason), unproven (reason), with the reproduction's call. */
export function formatVerdict(verdict: JsonObject | null | undefined, options: ScreenOptions = {}): string[] {
  const c = paint(options);
  if (!verdict) return [`verdict: ${c('dim', 'not yet')}`];
  const type = str(verdict['type']);
  const tests = testSummary(verdict);
  const lines: string[] = [];
  switch (type) {
    case 'PatchValidated':
      lines.push(`verdict: ${c('green', 'validated')}${tests ? ` — ${tests}` : ''}`);
      break;
    case 'PatchRejected': {
      const stage = str(verdict['stage']);
      const failing = strings(verdict['failingTests']);
      lines.push(`verdict: ${c('red', 'rejected')}${stage ? ` at ${stage}` : ''}: ${str(verdict['reason']) ?? NONE}${failing.length ? ` (failing: ${failing.join(', ')})` : ''}`);
      break;
    }
    case 'PatchUnproven':
      lines.push(`verdict: ${c('yellow', 'unproven')}: ${str(verdict['reason']) ?? NONE}${tests ? ` — ${tests}` : ''}`);
      break;
    default:
      lines.push(`verdict: ${type ?? NONE}${str(verdict['reason']) ? `: ${str(verdict['reason'])}` : ''}`);
  }
  for (const violation of strings(verdict['violations'])) lines.push(`  violation: ${violation}`);
  lines.push(...formatReproduction(obj(verdict['reproduction'])));
  return lines;
}

/** The reproduction of the captured failure and the harness's `call` evidence (baseline and patched runs). */
export function formatReproduction(reproduction: JsonObject | undefined): string[] {
  if (!reproduction) return [];
  const lines = [`reproduction: ${str(reproduction['status']) ?? NONE}${str(reproduction['reason']) ? ` — ${str(reproduction['reason'])}` : ''}${str(reproduction['testFile']) ? ` (test ${str(reproduction['testFile'])})` : ''}`];
  const call = obj(reproduction['call']);
  if (call) {
    lines.push(`  call: ${str(call['module']) ?? '?'}#${str(call['export']) ?? '?'} with the ${str(call['input']) ?? '?'}'s arguments`);
    lines.push(`    baseline: ${callOutcome(obj(call['baseline']))}`);
    if (call['patched'] !== undefined) lines.push(`    patched:  ${callOutcome(obj(call['patched']))}`);
  }
  return lines;
}

/** The whole story of one incident on one screen. */
export function formatIncidentScreen(incident: IncidentDetail, options: ScreenOptions = {}): string[] {
  const c = paint(options);
  const out: string[] = [];
  const row = incident as unknown as JsonObject;
  out.push(`${c('bold', `incident ${incident.incidentId}`)}  ${statusColour(incident.status, c)}  ${incident.service}${incident.release ? ` (${incident.release})` : ''}`);
  out.push(`  ${c('bold', incident.title)}${incident.culprit ? ` at ${incident.culprit}` : ''}`);
  const samples = obj(row['samples']) ? undefined : num(row['samples']);
  out.push(
    `  seen ${incident.occurrences ?? 0}×${samples !== undefined ? `, ${samples} samples` : ''}, first ${incident.firstSeen ? isoSeconds(incident.firstSeen) : NONE}, last ${incident.lastSeen ? isoSeconds(incident.lastSeen) : NONE}`,
  );
  out.push(`  round ${incident.round ?? 0} · cost ${formatUsd(incident.costUsd)} · trace ${incident.traceId ?? NONE}`);

  const candidates = arr(row['candidates']).map(obj).filter((x): x is JsonObject => x !== undefined);
  const fixes = candidates.filter((p) => obj(p['committed']));
  for (const fix of fixes) {
    const committed = obj(fix['committed']) ?? {};
    out.push(`  fix: patch ${shortId(str(fix['patchId']) ?? '')} committed ${str(committed['commitSha']) ?? NONE} on ${str(committed['branch']) ?? NONE}${str(committed['pullRequestUrl']) ? ` · ${str(committed['pullRequestUrl'])}` : ''}`);
  }
  if (fixes.length === 0 && incident.pullRequestUrl) out.push(`  fix: ${incident.pullRequestUrl}`);

  const first = obj(obj(row['samples'])?.['first']);
  if (first) {
    out.push('', c('bold', 'What failed'));
    const exception = obj(first['exception']);
    if (exception) out.push(`  ${str(exception['type']) ?? ''}: ${str(exception['value']) ?? ''}`);
    const frames = arr(first['frames']).map(obj).filter((f): f is JsonObject => f !== undefined);
    const shown = frames.filter((f) => f['inApp'] === true);
    for (const frame of (shown.length ? shown : frames).slice(0, 5)) {
      out.push(`    at ${str(frame['function']) ?? '?'} (${str(frame['filename']) ?? '?'}:${num(frame['lineno']) ?? '?'})`);
    }
  }

  for (const round of arr(row['rounds']).map(obj)) {
    if (!round) continue;
    const diagnosis = obj(round['diagnosis']);
    out.push('', c('bold', `Diagnosis, round ${num(round['index']) ?? 0}`));
    if (!diagnosis) out.push(`  ${c('dim', 'not yet')}`);
    else if (str(diagnosis['type']) === 'DiagnosisFailed') out.push(`  ${c('red', 'failed')}: ${str(diagnosis['reason']) ?? NONE}`);
    else {
      const location = obj(diagnosis['location']);
      const confidence = num(diagnosis['confidence']);
      const source = [str(diagnosis['source']), str(diagnosis['ruleId'])].filter(Boolean).join(' ');
      out.push(`  ${str(diagnosis['rootCause']) ?? NONE}`);
      out.push(`  at ${str(location?.['file']) ?? '?'}:${num(location?.['line']) ?? '?'} · by ${source || NONE}${confidence !== undefined ? ` (${Math.round(confidence * 100)}%)` : ''}`);
    }
    const patchFailed = obj(round['patchFailed']);
    if (patchFailed) out.push(`  no patch: ${str(patchFailed['reason']) ?? NONE}`);
  }

  for (const patch of candidates) {
    const patchId = str(patch['patchId']) ?? '';
    const chosen = patchId === incident.chosenPatchId ? `  ${c('green', '[chosen]')}` : '';
    const source = [str(patch['source']), str(patch['templateId'])].filter(Boolean).join(' ');
    const confidence = num(patch['confidence']);
    out.push('', `${c('bold', `Patch ${shortId(patchId)}`)}  round ${num(patch['round']) ?? 0}, rank ${num(patch['rank']) ?? '?'} · ${source || NONE}${confidence !== undefined ? ` (${Math.round(confidence * 100)}%)` : ''} · ${strings(patch['files']).join(', ')}${chosen}`);
    if (str(patch['rationale'])) out.push(`  ${str(patch['rationale'])}`);
    const diff = str(patch['diff']);
    if (diff) out.push(...formatDiff(diff, options).map((line) => `    ${line}`));
    out.push(...formatVerdict(obj(patch['verdict']), options).map((line) => `  ${line}`));
    const committed = obj(patch['committed']);
    if (committed) out.push(`  committed ${str(committed['commitSha']) ?? NONE} on ${str(committed['branch']) ?? NONE}${str(committed['pullRequestUrl']) ? ` · ${str(committed['pullRequestUrl'])}` : ''}`);
    const rolledBack = obj(patch['rolledBack']);
    if (rolledBack) out.push(`  ${c('red', 'rolled back')} at ${num(rolledBack['stage']) ?? '?'} %: ${str(rolledBack['reason']) ?? NONE}`);
  }

  const rollout = obj(row['rollout']);
  out.push('', c('bold', 'Rollout'));
  if (!rollout) out.push(`  ${c('dim', 'none')}`);
  else {
    const stages = arr(rollout['stages']).map((s) => String(s)).join(' → ');
    const stage = num(rollout['stage']);
    out.push(`  ${str(rollout['release']) ?? NONE} of patch ${shortId(str(rollout['patchId']) ?? '')}: ${str(rollout['status']) ?? NONE}${stage !== undefined ? ` at ${stage} %` : ''} (stages ${stages || NONE})`);
    const why = [str(rollout['cause']), str(rollout['reason'])].filter(Boolean).join(': ');
    if (why) out.push(`  ${why}`);
    for (const evidence of arr(rollout['evidence']).slice(-3)) out.push(`  evidence: ${compact(evidence)}`);
  }

  const decisions = arr(row['decisions']).map(obj).filter((d): d is JsonObject => d !== undefined);
  if (decisions.length) {
    out.push('', c('bold', 'Decisions'));
    for (const d of decisions) out.push(`  ${isoSeconds(str(d['recordedAt']) ?? '')}  ${str(d['by']) ?? NONE}: ${str(d['decision']) ?? NONE} ${str(d['step']) ?? ''}${str(d['patchId']) ? ` of patch ${shortId(str(d['patchId']) ?? '')}` : ''}${str(d['comment']) ? ` (${str(d['comment'])})` : ''}`);
  }
  const closure = obj(row['closure']) ?? obj(row['manualResolution']);
  if (closure) out.push('', `${c('bold', obj(row['closure']) ? 'Closed' : 'Resolved by hand')}: ${str(closure['reason']) ?? NONE}${str(obj(closure['by'])?.['name']) ? ` (${str(obj(closure['by'])?.['name'])})` : ''}`);

  const timeline = arr(row['timeline']).map(obj).filter((e): e is JsonObject => e !== undefined);
  if (timeline.length) {
    out.push('', c('bold', 'Timeline'));
    for (const e of timeline) out.push(`  ${isoSeconds(str(e['recordedAt']) ?? '')}  #${String(num(e['version']) ?? '?').padEnd(3)} ${str(e['summary']) ?? str(e['type']) ?? ''}`);
  }
  return out;
}

function statusColour(status: string, c: (colour: Colour, text: string) => string): string {
  if (status === 'resolved') return c('green', status);
  if (status === 'escalated') return c('red', status);
  if (status === 'closed') return c('dim', status);
  return c('yellow', status);
}

function testSummary(verdict: JsonObject): string | undefined {
  const counts = obj(verdict['counts']);
  const tests = arr(verdict['tests']).map(obj).filter((t): t is JsonObject => t !== undefined);
  if (!counts && tests.length === 0) return undefined;
  const total = num(counts?.['total']) ?? tests.length;
  const passed = num(counts?.['passed']) ?? tests.filter((t) => t['status'] === 'passed').length;
  const failed = num(counts?.['failed']) ?? tests.filter((t) => t['status'] === 'failed').length;
  const healed = tests.filter((t) => t['status'] === 'passed' && t['baseline'] === 'failed').length;
  return `${total} ${total === 1 ? 'test' : 'tests'}: ${passed} passed, ${failed} failed${healed ? `, ${healed} failing on the baseline now pass` : ''}`;
}

function callOutcome(outcome: JsonObject | undefined): string {
  if (!outcome) return NONE;
  const what = str(outcome['outcome']) ?? '?';
  const thrown = [str(outcome['type']), str(outcome['message'])].filter(Boolean).join(': ');
  return [what, thrown, str(outcome['frame']) ? `at ${str(outcome['frame'])}` : undefined, str(outcome['reason'])].filter(Boolean).join(' ');
}

function compact(value: unknown): string {
  const text = JSON.stringify(value) ?? '';
  return text.length > 160 ? `${text.slice(0, 159)}…` : text;
}

function isoSeconds(iso: string): string {
  const time = new Date(iso);
  return Number.isNaN(time.getTime()) ? iso || NONE : time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);
const arr = (value: unknown): readonly Json[] => (Array.isArray(value) ? (value as Json[]) : []);
const obj = (value: unknown): JsonObject | undefined => (value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : undefined);
const strings = (value: unknown): string[] => arr(value).filter((x): x is string => typeof x === 'string');
