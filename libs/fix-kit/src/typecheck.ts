// Type-checking candidate patches, and what the checker knows about a function's return type, on
// a repository's files at a commit. Pure: the files come in as a snapshot (read by
// @antibody/fix-io), TypeScript's own lib files through a reader; nothing here touches the disk.
//
// Bounded by construction: only the files a check needs are in the snapshot (the changed files,
// the files they import, transitively, up to a count, the tsconfig chain and the repository's
// declaration files); packages (node_modules) are never there, so their imports are unresolved on
// the baseline and on the candidate alike. Only diagnostics the candidate adds count.
import ts from 'typescript';
import { type Fallback } from './ast';
import { matchesGlob } from './policy';

/** A repository's files at one commit, as far as a check needs them, and TypeScript's lib files. */
export interface ProjectSnapshot {
  /** Repository-relative path -> text, for the files read at the commit. */
  readonly files: ReadonlyMap<string, string>;
  /** TypeScript's default library files (`lib.es2022.d.ts`…) by file name; undefined for an unknown one. */
  readonly readLib: (fileName: string) => string | undefined;
  /** True when imports were left unread because the file bound was reached. */
  readonly truncated?: boolean;
}

/** One diagnostic a candidate adds, located in the patched file. */
export interface CheckDiagnostic {
  readonly file: string;
  readonly line: number;
  readonly code: number;
  readonly message: string;
}

/** A whole new text of one file. */
export interface FileChange {
  readonly file: string;
  readonly after: string;
}

/** What the checker says a function of the file at the commit should return from an early exit, by the function's start offset. */
export interface TypeOracle {
  /** The fallback that fits the function starting at `pos` (its declared or inferred return type), or undefined when the checker knows nothing (`any`). */
  fallbackAt(pos: number): Fallback | undefined;
}

/** The language service over a snapshot. */
export interface TypeProject {
  /**
   * Diagnostics (syntactic and semantic; for JavaScript without `checkJs` the parser's and
   * TypeScript's plain-JavaScript errors) that `changes` add to the changed files, compared with
   * the same files at the commit by code and message. Empty when the candidate checks as well as
   * the code it changes.
   */
  check(changes: readonly FileChange[]): CheckDiagnostic[];
  /** The checker's view of `file` at the commit, or undefined when the snapshot does not hold it. */
  oracle(file: string): TypeOracle | undefined;
  /** The tsconfig used for `file` (repository path), or undefined when none applies (defaults). */
  configOf(file: string): string | undefined;
}

const ROOT = '/repo/';
const LIB_DIR = '/typescript-lib/';
const SOURCE = /\.(m|c)?[jt]sx?$/;

/** Options when no tsconfig covers a file: what a current Node.js project would use, JavaScript allowed but not checked. */
const DEFAULTS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  allowJs: true,
  esModuleInterop: true,
  strict: false,
};

/** Settings that would make the check read, write or require more than the changed files. */
const OVERRIDES: ts.CompilerOptions = {
  noEmit: true,
  skipLibCheck: true,
  types: [],
  composite: false,
  incremental: false,
  declaration: false,
  declarationMap: false,
  emitDeclarationOnly: false,
  allowJs: true,
  isolatedModules: false,
};

/** The `tsconfig.json` files that could apply to `file`, nearest first. */
export function tsconfigCandidates(file: string): string[] {
  const parts = file.split('/').slice(0, -1);
  const out: string[] = [];
  for (let i = parts.length; i >= 0; i--) out.push([...parts.slice(0, i), 'tsconfig.json'].join('/'));
  return out;
}

interface ConfigRaw {
  readonly extends?: string | string[];
  readonly references?: readonly { readonly path?: string }[];
  readonly files?: readonly string[];
  readonly include?: readonly string[];
  readonly exclude?: readonly string[];
}

function rawConfig(path: string, text: string | undefined): ConfigRaw | undefined {
  if (text === undefined) return undefined;
  const parsed = ts.parseConfigFileTextToJson(path, text);
  return parsed.config && typeof parsed.config === 'object' ? (parsed.config as ConfigRaw) : undefined;
}

function join(dir: string, rel: string): string {
  const out: string[] = [];
  for (const part of `${dir ? `${dir}/` : ''}${rel}`.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

function dirOf(path: string): string {
  return path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '';
}

/** A config's extended configs that are files of the repository (a package's config is not at the commit: its settings are missed). */
function extendedConfigs(path: string, raw: ConfigRaw): string[] {
  const list = raw.extends === undefined ? [] : Array.isArray(raw.extends) ? raw.extends : [raw.extends];
  return list.filter((e) => e.startsWith('.')).map((e) => join(dirOf(path), /\.json$/.test(e) ? e : `${e}.json`));
}

function referencedConfigs(path: string, raw: ConfigRaw): string[] {
  return (raw.references ?? []).flatMap((r) => (r.path ? [join(dirOf(path), /\.json$/.test(r.path) ? r.path : `${r.path}/tsconfig.json`)] : []));
}

/** True when a config's own `files`/`include`/`exclude` take `file` in (a config without them takes every file below it). */
function includes(path: string, raw: ConfigRaw, file: string): boolean {
  const dir = dirOf(path);
  const rel = dir ? (file.startsWith(`${dir}/`) ? file.slice(dir.length + 1) : undefined) : file;
  if (rel === undefined) return false;
  const pattern = (p: string): string => {
    const clean = join('', p);
    return /[*?]/.test(clean) || /\.[a-z]+$/i.test(clean) ? clean : `${clean}/**`;
  };
  if (raw.files && raw.files.some((f) => join('', f) === rel)) return true;
  if (raw.files && !raw.include) return false;
  const included = !raw.include || raw.include.some((p) => matchesGlob(rel, pattern(p)));
  const excluded = (raw.exclude ?? []).some((p) => matchesGlob(rel, pattern(p)));
  return included && !excluded;
}

/**
 * The config that applies to `file`: the nearest `tsconfig.json` above it; when that one is a
 * solution (only `references`), the referenced config whose `include` takes the file in (test
 * configs last). Undefined when the repository has none at or above the file.
 */
export function configFor(file: string, files: ReadonlyMap<string, string>): string | undefined {
  for (const candidate of tsconfigCandidates(file)) {
    const raw = rawConfig(candidate, files.get(candidate));
    if (!raw) continue;
    const refs = referencedConfigs(candidate, raw);
    const solution = refs.length > 0 && (raw.files?.length === 0 || (!raw.files && !raw.include));
    if (!solution) return candidate;
    const byPreference = [...refs].sort((a, b) => Number(/spec|test/.test(a)) - Number(/spec|test/.test(b)));
    for (const ref of byPreference) {
      const refRaw = rawConfig(ref, files.get(ref));
      if (refRaw && includes(ref, refRaw, file)) return ref;
    }
    return candidate;
  }
  return undefined;
}

/** The compiler options for `file`: its config's (with what it extends) plus the check's overrides, or the defaults. */
export function compilerOptionsFor(file: string, files: ReadonlyMap<string, string>): ts.CompilerOptions {
  const config = configFor(file, files);
  if (!config) return withCheckJs({ ...DEFAULTS, ...OVERRIDES }, false);
  const host: ts.ParseConfigHost = {
    useCaseSensitiveFileNames: true,
    readDirectory: () => [],
    fileExists: (p) => files.has(repoPath(p) ?? ''),
    readFile: (p) => files.get(repoPath(p) ?? ''),
  };
  const json = ts.parseConfigFileTextToJson(ROOT + config, files.get(config) ?? '{}');
  const parsed = ts.parseJsonConfigFileContent(json.config ?? {}, host, ROOT + dirOf(config), undefined, ROOT + config);
  return withCheckJs({ ...parsed.options, ...OVERRIDES }, parsed.options.checkJs === true);
}

/** `checkJs` set only when on: TypeScript reports its plain-JavaScript errors (redeclarations, misplaced `await`…) only when it is not set at all. */
function withCheckJs(options: ts.CompilerOptions, on: boolean): ts.CompilerOptions {
  const { checkJs: _checkJs, ...rest } = options;
  return on ? { ...rest, checkJs: true } : rest;
}

function repoPath(p: string): string | undefined {
  return p.startsWith(ROOT) ? p.slice(ROOT.length) : undefined;
}

/**
 * The repository files a check of `changed` still needs that `files` lacks: the tsconfig chain
 * (nearest config, what it extends, a solution's references), then, once the options are known,
 * the relative and path-mapped imports of the source files read so far (breadth first), and the
 * repository's own declaration files beside them. `listing` is every path at the commit. Returns
 * nothing more once `maxFiles` source files are held. Call it again after reading what it
 * returned, until it returns nothing.
 */
export function filesToRead(changed: readonly string[], files: ReadonlyMap<string, string>, listing: ReadonlySet<string>, maxFiles = 200): string[] {
  const want = new Set<string>();
  const configs = new Set<string>();
  for (const file of changed) {
    for (const candidate of tsconfigCandidates(file)) {
      if (!listing.has(candidate)) continue;
      if (!files.has(candidate)) want.add(candidate);
      configs.add(candidate);
      break;
    }
  }
  // A config's extends and references, until the chain is held.
  const queue = [...configs];
  while (queue.length > 0) {
    const path = queue.shift()!;
    const raw = rawConfig(path, files.get(path));
    if (!raw) continue;
    for (const next of [...extendedConfigs(path, raw), ...referencedConfigs(path, raw)]) {
      if (!listing.has(next) || configs.has(next)) continue;
      configs.add(next);
      if (files.has(next)) queue.push(next);
      else want.add(next);
    }
  }
  if (want.size > 0) return [...want];

  const held = [...files.keys()].filter((f) => SOURCE.test(f)).length;
  const room = (): boolean => held + want.size < maxFiles;
  for (const file of changed) {
    const options = compilerOptionsFor(file, files);
    const host = resolutionHost(files, listing);
    const seen = new Set<string>([file]);
    const queue2 = [file];
    while (queue2.length > 0 && room()) {
      const current = queue2.shift()!;
      const text = files.get(current);
      if (text === undefined) continue;
      for (const target of importsOf(current, text, options, host)) {
        if (seen.has(target)) continue;
        seen.add(target);
        if (files.has(target)) queue2.push(target);
        else if (room()) want.add(target);
      }
    }
    const config = configFor(file, files);
    const base = config ? dirOf(config) : '';
    for (const path of listing) {
      if (!room()) break;
      if (/\.d\.[mc]?ts$/.test(path) && !/(^|\/)node_modules\//.test(path) && (base === '' || path.startsWith(`${base}/`)) && !files.has(path)) want.add(path);
    }
  }
  return [...want];
}

function resolutionHost(files: ReadonlyMap<string, string>, listing: ReadonlySet<string>): ts.ModuleResolutionHost {
  return {
    fileExists: (p) => listing.has(repoPath(p) ?? ''),
    readFile: (p) => files.get(repoPath(p) ?? ''),
    directoryExists: (d) => {
      const rel = repoPath(d.endsWith('/') ? d : `${d}/`);
      if (rel === undefined) return false;
      for (const p of listing) if (p.startsWith(rel)) return true;
      return rel === '';
    },
  };
}

/** Repository files that `file` imports, resolved with `options` (packages and files outside the repository left out). */
function importsOf(file: string, text: string, options: ts.CompilerOptions, host: ts.ModuleResolutionHost): string[] {
  const info = ts.preProcessFile(text, true, /\.(m|c)?jsx?$/.test(file));
  const specs = [...info.importedFiles, ...info.referencedFiles].map((r) => r.fileName);
  const out: string[] = [];
  for (const spec of specs) {
    const resolved = ts.resolveModuleName(spec, ROOT + file, options, host).resolvedModule;
    const rel = resolved && repoPath(resolved.resolvedFileName);
    if (rel && !/(^|\/)node_modules\//.test(rel)) out.push(rel);
  }
  return out;
}

/** A language service per tsconfig over the snapshot; each check overlays the changed texts, then takes them back. */
export function typeProject(snapshot: ProjectSnapshot): TypeProject {
  const overlay = new Map<string, string>();
  const versions = new Map<string, number>();
  const services = new Map<string, ts.LanguageService>();
  const baselines = new Map<string, readonly ts.Diagnostic[]>();
  const registry = ts.createDocumentRegistry(true, ROOT);
  const textOf = (path: string): string | undefined => {
    const rel = repoPath(path);
    if (rel !== undefined) return overlay.get(rel) ?? snapshot.files.get(rel);
    if (path.startsWith(LIB_DIR)) return snapshot.readLib(path.slice(LIB_DIR.length));
    return undefined;
  };
  const serviceFor = (file: string): ts.LanguageService => {
    const key = configFor(file, snapshot.files) ?? '';
    const existing = services.get(key);
    if (existing) return existing;
    const options = compilerOptionsFor(file, snapshot.files);
    const roots = [...snapshot.files.keys()].filter((p) => (configFor(p, snapshot.files) ?? '') === key && (SOURCE.test(p) || /\.d\.[mc]?ts$/.test(p))).map((p) => ROOT + p);
    const host: ts.LanguageServiceHost = {
      getCompilationSettings: () => options,
      getScriptFileNames: () => roots,
      getScriptVersion: (p) => String(versions.get(repoPath(p) ?? '') ?? 0),
      getScriptSnapshot: (p) => {
        const text = textOf(p);
        return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
      },
      getCurrentDirectory: () => ROOT,
      getDefaultLibFileName: (o) => LIB_DIR + ts.getDefaultLibFileName(o),
      fileExists: (p) => textOf(p) !== undefined,
      readFile: (p) => textOf(p),
      directoryExists: (d) => {
        if (d.startsWith(LIB_DIR.slice(0, -1))) return true;
        const rel = repoPath(d.endsWith('/') ? d : `${d}/`);
        if (rel === undefined) return false;
        if (rel === '') return true;
        for (const p of snapshot.files.keys()) if (p.startsWith(rel)) return true;
        return false;
      },
      getDirectories: () => [],
      useCaseSensitiveFileNames: () => true,
    };
    const service = ts.createLanguageService(host, registry);
    services.set(key, service);
    return service;
  };
  const diagnosticsOf = (file: string): readonly ts.Diagnostic[] => {
    const service = serviceFor(file);
    return [...service.getSyntacticDiagnostics(ROOT + file), ...service.getSemanticDiagnostics(ROOT + file)];
  };
  return {
    check(changes) {
      for (const c of changes) if (!baselines.has(c.file) && snapshot.files.has(c.file)) baselines.set(c.file, diagnosticsOf(c.file));
      for (const c of changes) {
        overlay.set(c.file, c.after);
        versions.set(c.file, (versions.get(c.file) ?? 0) + 1);
      }
      try {
        return changes.flatMap((c) => added(baselines.get(c.file) ?? [], diagnosticsOf(c.file), c.file));
      } finally {
        for (const c of changes) {
          overlay.delete(c.file);
          versions.set(c.file, (versions.get(c.file) ?? 0) + 1);
        }
      }
    },
    oracle(file) {
      if (!snapshot.files.has(file) || !SOURCE.test(file)) return undefined;
      const program = serviceFor(file).getProgram();
      const sf = program?.getSourceFile(ROOT + file);
      if (!program || !sf || overlay.size > 0) return undefined;
      const checker = program.getTypeChecker();
      return { fallbackAt: (pos) => fallbackFromChecker(checker, sf, pos) };
    },
    configOf: (file) => configFor(file, snapshot.files),
  };
}

function keyOf(d: ts.Diagnostic): string {
  return `${d.code}\u0000${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
}

/** The diagnostics of `after` beyond the baseline's, by code and message (so moved lines do not count as new). */
function added(before: readonly ts.Diagnostic[], after: readonly ts.Diagnostic[], file: string): CheckDiagnostic[] {
  const budget = new Map<string, number>();
  for (const d of before) budget.set(keyOf(d), (budget.get(keyOf(d)) ?? 0) + 1);
  const out: CheckDiagnostic[] = [];
  for (const d of after) {
    const key = keyOf(d);
    const left = budget.get(key) ?? 0;
    if (left > 0) {
      budget.set(key, left - 1);
      continue;
    }
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 1;
    out.push({ file, line, code: d.code, message: ts.flattenDiagnosticMessageText(d.messageText, ' ').slice(0, 300) });
  }
  return out;
}

/** `src/a.ts:12 TS2322 Type 'undefined' is not assignable to type 'string'.` for each diagnostic (the first few). */
export function describeDiagnostics(diagnostics: readonly CheckDiagnostic[], max = 3): string {
  const shown = diagnostics.slice(0, max).map((d) => `${d.file}:${d.line} TS${d.code} ${d.message}`);
  return diagnostics.length > max ? `${shown.join('; ')}; and ${diagnostics.length - max} more` : shown.join('; ');
}

function functionAt(sf: ts.SourceFile, pos: number): ts.SignatureDeclaration | undefined {
  let found: ts.SignatureDeclaration | undefined;
  const visit = (node: ts.Node): void => {
    if (found || pos < node.pos || pos >= node.end) return;
    if (ts.isFunctionLike(node) && node.getStart(sf) === pos) {
      found = node;
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

/** The fallback that fits the checker's return type of the function starting at `pos`; undefined when the type says nothing (`any`, an error). */
function fallbackFromChecker(checker: ts.TypeChecker, sf: ts.SourceFile, pos: number): Fallback | undefined {
  const fn = functionAt(sf, pos);
  if (!fn) return undefined;
  const signature = checker.getSignatureFromDeclaration(fn);
  if (!signature) return undefined;
  let type = checker.getReturnTypeOfSignature(signature);
  const isAsync = (ts.getCombinedModifierFlags(fn as ts.Declaration) & ts.ModifierFlags.Async) !== 0;
  if (isAsync) type = checker.getAwaitedType(type) ?? type;
  return fallbackForCheckedType(checker, type);
}

/** The neutral value of a checked type (exported for its spec through the oracle). */
function fallbackForCheckedType(checker: ts.TypeChecker, type: ts.Type): Fallback | undefined {
  const value = (text: string): Fallback => ({ kind: 'value', text, known: true });
  const F = ts.TypeFlags;
  if (type.flags & (F.Any | F.Unknown)) return undefined;
  if (type.flags & (F.Void | F.Undefined)) return { kind: 'void' };
  if (type.flags & F.Never) return undefined;
  if (type.isUnion()) {
    const parts = type.types;
    if (parts.some((t) => t.flags & (F.Undefined | F.Void))) return value('undefined');
    if (parts.some((t) => t.flags & F.Null)) return value('null');
    if (parts.every((t) => t.flags & F.BooleanLike)) return value('false');
    const fits = parts.map((t) => fallbackForCheckedType(checker, t));
    const first = fits.find((f): f is Fallback => f !== undefined && f.kind === 'value' && f.known);
    return first ?? fits[0];
  }
  if (type.flags & F.Null) return value('null');
  if (type.flags & F.StringLike) return type.isStringLiteral() && type.value !== '' ? none(checker, type) : value("''");
  if (type.flags & F.NumberLike) return type.isNumberLiteral() && type.value !== 0 ? none(checker, type) : value('0');
  if (type.flags & F.BooleanLike) return value('false');
  if (type.flags & F.BigIntLike) return value('0n');
  if (checker.isArrayType(type) || checker.isTupleType(type)) return checker.isTupleType(type) && (type as ts.TupleTypeReference).target.minLength > 0 ? none(checker, type) : value('[]');
  const name = type.getSymbol()?.getName();
  if (name === 'Map' || name === 'Set') return value(`new ${name}()`);
  if (name === 'Promise') return undefined;
  if (type.flags & F.Object) {
    if (checker.getSignaturesOfType(type, ts.SignatureKind.Call).length > 0) return none(checker, type);
    const props = checker.getPropertiesOfType(type);
    if (props.every((p) => (p.flags & ts.SymbolFlags.Optional) !== 0)) return value('{}');
    return none(checker, type);
  }
  return undefined;
}

function none(checker: ts.TypeChecker, type: ts.Type): Fallback {
  return { kind: 'none', type: checker.typeToString(type).slice(0, 120) };
}
