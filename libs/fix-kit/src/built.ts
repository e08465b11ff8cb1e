// Frames in build output that git does not track and no source map leads back from (`dist/x.js`
// compiled by tsc, `libcjs/util/string.js` by babel or rollup): the source file is found from the
// build configuration at the commit, and the source line from the line text the SDK captured.
import ts from 'typescript';

/** The part of a captured frame that says where it ran and what its line read. */
export interface BuiltFrameFacts {
  readonly lineno?: number;
  readonly colno?: number;
  /** The built file's line, as the SDK read it. */
  readonly contextLine?: string;
  readonly preContext?: readonly string[];
  readonly postContext?: readonly string[];
}

/** Directories build tools write to; the first of them in a frame's path starts the build output. */
export const BUILD_DIRS: ReadonlySet<string> = new Set(['dist', 'lib', 'libcjs', 'libesm', 'build', 'cjs', 'esm', 'commonjs', 'module', 'es', 'out', 'output']);

/** Where sources sit when no tsconfig says so, relative to the package. */
const SOURCE_ROOTS = ['src', 'lib', ''];

/** Source extensions a built file may come from, by the built file's extension, most likely first. */
const SOURCE_EXTENSIONS: Readonly<Record<string, readonly string[]>> = {
  '.js': ['.ts', '.tsx', '.js', '.jsx', '.mts', '.mjs'],
  '.mjs': ['.mts', '.ts', '.mjs', '.js', '.tsx'],
  '.cjs': ['.cts', '.ts', '.cjs', '.js'],
  '.jsx': ['.tsx', '.jsx'],
};

/** tsconfig files that commonly hold a package's build settings, in the order they are tried. */
const TSCONFIG_NAMES = ['tsconfig.json', 'tsconfig.build.json', 'tsconfig.lib.json', 'tsconfig.cjs.json', 'tsconfig.esm.json', 'tsconfig.prod.json'];

/** One way a built file may be split: the package directory it belongs to, and the path inside the build directory. */
export interface BuildLayout {
  /** The package directory in the repository (`''` for the root, `packages/core`). */
  readonly pkg: string;
  /** The build directory's name (`dist`). */
  readonly buildDir: string;
  /** The path below the build directory (`util/string.js`). */
  readonly rest: string;
}

/**
 * The ways `filename` (a frame's file name: absolute, a URL, or repository-relative) may be build
 * output inside a repository: for every build directory in the path (`dist`, `lib`, `libcjs`…),
 * and every way of dropping the leading directories that are outside the repository. Nearest to
 * the whole path first.
 */
export function buildLayouts(filename: string): BuildLayout[] {
  const cleaned = filename.replace(/^[a-z][a-z0-9+.-]*:\/\/\/?/i, '').replace(/\\/g, '/');
  const parts = cleaned.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..') || parts.includes('node_modules')) return [];
  const out: BuildLayout[] = [];
  for (let i = 0; i < parts.length - 1; i++) {
    if (!BUILD_DIRS.has(parts[i]!)) continue;
    const rest = parts.slice(i + 1).join('/');
    for (let j = 0; j <= i; j++) out.push({ pkg: parts.slice(j, i).join('/'), buildDir: parts[i]!, rest });
  }
  return out;
}

/** The tsconfig paths to read for a package directory. */
export function tsconfigPaths(pkg: string): string[] {
  return TSCONFIG_NAMES.map((name) => joinPath(pkg, name));
}

/** Build settings of one tsconfig (with what it extends, relative configs only), repository-relative. */
export interface TsBuildSettings {
  readonly config: string;
  readonly outDir?: string;
  readonly rootDir?: string;
  /** The directories `include` names before its first wildcard. */
  readonly includeDirs: readonly string[];
}

/** Reads `outDir`, `rootDir` and `include` of the tsconfig at `path`, following relative `extends` through `read`. */
export function tsBuildSettings(path: string, read: (path: string) => string | undefined): TsBuildSettings | undefined {
  const chain: { path: string; raw: Record<string, unknown> }[] = [];
  let current: string | undefined = path;
  while (current && chain.length < 5 && !chain.some((c) => c.path === current)) {
    const text = read(current);
    if (text === undefined) break;
    const parsed = ts.parseConfigFileTextToJson(current, text).config as unknown;
    if (!parsed || typeof parsed !== 'object') break;
    const raw = parsed as Record<string, unknown>;
    chain.push({ path: current, raw });
    const ext = raw['extends'];
    current = typeof ext === 'string' && ext.startsWith('.') ? joinPath(dirOf(current), ext.endsWith('.json') ? ext : `${ext}.json`) : undefined;
  }
  if (chain.length === 0) return undefined;
  const option = (name: string): string | undefined => {
    for (const { path: at, raw } of chain) {
      const options = raw['compilerOptions'];
      const value = options && typeof options === 'object' ? (options as Record<string, unknown>)[name] : undefined;
      if (typeof value === 'string') return joinPath(dirOf(at), value);
    }
    return undefined;
  };
  const include = chain.map((c) => c.raw['include']).find((v): v is unknown[] => Array.isArray(v)) ?? [];
  const includeDirs = include
    .filter((v): v is string => typeof v === 'string')
    .map((v) => joinPath(dirOf(chain[0]!.path), v.split('/').filter((s) => !/[*?]/.test(s) && !/\.[a-z]+$/i.test(s)).join('/')));
  return { config: path, outDir: option('outDir'), rootDir: option('rootDir'), includeDirs: [...new Set(includeDirs)] };
}

/**
 * Repository paths the source of a built file may be at, most likely first: by a tsconfig whose
 * `outDir` holds it (`<rootDir>/<rest>`, or the `include` directories without a rootDir), then by
 * the package's layout (the path below the build directory under `src/`, `lib/` or the package
 * root), each with the source extensions the built extension may come from. Never the built
 * path itself.
 */
export function sourceCandidates(layout: BuildLayout, settings: readonly TsBuildSettings[]): string[] {
  const built = joinPath(joinPath(layout.pkg, layout.buildDir), layout.rest);
  const out: string[] = [];
  const add = (dir: string, rest: string): void => {
    const ext = /\.(m|c)?jsx?$/.exec(rest)?.[0];
    if (!ext) return;
    const stem = rest.slice(0, -ext.length);
    for (const sourceExt of SOURCE_EXTENSIONS[ext] ?? []) {
      const path = joinPath(dir, stem + sourceExt);
      if (path !== built && !out.includes(path)) out.push(path);
    }
  };
  for (const s of settings) {
    if (!s.outDir || !(built === s.outDir || built.startsWith(`${s.outDir}/`))) continue;
    const rest = built.slice(s.outDir.length + 1);
    if (s.rootDir !== undefined) add(s.rootDir, rest);
    else for (const dir of [...s.includeDirs, dirOf(s.config)]) add(dir, rest);
  }
  for (const root of SOURCE_ROOTS) add(joinPath(layout.pkg, root), layout.rest);
  return out;
}

/** How a built frame's line was found in its source, or why it was not. */
export type LineMatch =
  | { readonly kind: 'matched'; readonly line: number; readonly contextMatches: number }
  | { readonly kind: 'no-context' }
  | { readonly kind: 'no-match' }
  | { readonly kind: 'not-confident'; readonly lines: readonly number[] };

/**
 * Whether a frame is in a minified bundle: the line is very long, or the frame is far along line
 * 1, or the SDK cut the first lines short (`{snip}`, Sentry's mark for lines over 150 characters).
 * A long line further down an ordinary file is cut too, and is not minified by itself.
 */
export function looksMinified(frame: BuiltFrameFacts): boolean {
  const line = frame.contextLine ?? '';
  if (line.length > 400) return true;
  if (line.includes('{snip}') && (frame.lineno ?? 1) <= 2) return true;
  return (frame.lineno ?? 0) <= 2 && (frame.colno ?? 0) > 400;
}

/** A captured line, ready to compare with normalised source lines: whole, or the middle of a line the SDK cut short. */
function capturedLine(line: string): ((source: string) => boolean) | undefined {
  const normalised = normaliseCodeLine(line);
  if (normalised === '') return undefined;
  if (!line.includes('{snip}')) return (source) => source === normalised;
  // The tokens at a cut may be cut themselves: only the whole ones in between count.
  const inner = normalised.split(' ').slice(line.trimStart().startsWith('{snip}') ? 1 : 0, line.trimEnd().endsWith('{snip}') ? -1 : undefined);
  if (inner.length < 3) return undefined;
  const fragment = inner.join(' ');
  return (source) => source.includes(fragment);
}

/**
 * Finds the line of `source` (a file at the commit) that the built line `frame.contextLine` was
 * compiled from. Both are normalised ({@link normaliseCodeLine}; TypeScript types are blanked
 * out of the source first, {@link stripTypes}) and compared (a line the SDK cut short, by its
 * whole middle tokens); among equal lines the pre/post context decides. Only a unique, confident
 * match is a match: a line that occurs once and is not trivial, or the one whose context agrees
 * best when several agree. Pure and deterministic.
 */
export function matchBuiltLine(file: string, source: string, frame: BuiltFrameFacts): LineMatch {
  const target = frame.contextLine === undefined ? undefined : capturedLine(frame.contextLine);
  if (!target) return { kind: 'no-context' };
  const lines = (/\.(m|c)?tsx?$/.test(file) ? stripTypes(file, source) : source).split('\n').map(normaliseCodeLine);
  let equal = lines.flatMap((l, i) => (l !== '' && target(l) ? [i] : []));
  if (equal.length === 0) equal = splitStatements(lines, frame.contextLine ?? '');
  if (equal.length === 0) return { kind: 'no-match' };
  const pre = (frame.preContext ?? []).flatMap((l) => capturedLine(l) ?? []);
  const post = (frame.postContext ?? []).flatMap((l) => capturedLine(l) ?? []);
  const score = (i: number): number => {
    const before = lines.slice(Math.max(0, i - (2 * pre.length + 5)), i);
    const after = lines.slice(i + 1, i + 1 + 2 * post.length + 5);
    return pre.filter((same) => before.some(same)).length + post.filter((same) => after.some(same)).length;
  };
  const scored = equal.map((i) => ({ line: i + 1, score: score(i) })).sort((a, b) => b.score - a.score);
  const [best, second] = scored;
  const trivial = normaliseCodeLine(frame.contextLine ?? '').split(' ').length < 3;
  if (best && !second && (!trivial || best.score > 0)) return { kind: 'matched', line: best.line, contextMatches: best.score };
  if (best && second && best.score > second.score && best.score > 0) return { kind: 'matched', line: best.line, contextMatches: best.score };
  return { kind: 'not-confident', lines: scored.map((s) => s.line) };
}

/**
 * Source lines the compiler split in two (`if (ok) parts.push(x);` is written as `if (ok)` and
 * `parts.push(x);`): those that end with the whole captured line, or start with it. Only for a
 * captured line of four tokens or more.
 */
function splitStatements(lines: readonly string[], contextLine: string): number[] {
  const target = normaliseCodeLine(contextLine);
  if (contextLine.includes('{snip}') || target.split(' ').length < 4) return [];
  return lines.flatMap((l, i) => (l.endsWith(` ${target}`) || l.startsWith(`${target} `) ? [i] : []));
}

const DECLARATION_KEYWORDS = new Set(['const', 'let', 'var']);

/**
 * A line of code reduced to what survives compilation: tokens without whitespace, comments and
 * semicolons; strings by their value; `const`/`let`/`var` alike; `export` (`default`) dropped; compiled
 * import references (tsc's `(0, string_1.trim)` and `string_1.x`, babel's `_string.x`) read as the imported
 * name. Returns '' for a line with no code.
 */
export function normaliseCodeLine(line: string): string {
  const text = line
    .replace(/\{snip\}/g, '')
    .replace(/\(0,\s*[\w$]+\.([\w$]+)\)/g, '$1')
    .replace(/\b[\w$]+_\d+\.([\w$]+)/g, '$1')
    .replace(/(?<![\w$.])_[A-Za-z][\w$]*\.(?=[\w$])/g, '')
    .replace(/__classPrivateFieldGet\(\s*([\w$.]+)\s*,\s*_[\w$]+_([\w$]+)\s*,\s*"f"\s*\)/g, '$1.#$2')
    .replace(/__classPrivateFieldSet\(\s*([\w$.]+)\s*,\s*_[\w$]+_([\w$]+)\s*,\s*(.*?)\s*,\s*"f"\s*\)/g, '$1.#$2 = $3');
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text);
  const tokens: string[] = [];
  let exported = false;
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if (kind === ts.SyntaxKind.SemicolonToken || kind === ts.SyntaxKind.ExportKeyword) {
      exported = kind === ts.SyntaxKind.ExportKeyword;
      continue;
    }
    if (exported && kind === ts.SyntaxKind.DefaultKeyword) continue;
    exported = false;
    if (kind === ts.SyntaxKind.StringLiteral || kind === ts.SyntaxKind.NoSubstitutionTemplateLiteral) tokens.push(JSON.stringify(scanner.getTokenValue()));
    else if (DECLARATION_KEYWORDS.has(scanner.getTokenText())) tokens.push('var');
    else tokens.push(scanner.getTokenText());
  }
  while (tokens[tokens.length - 1] === ',') tokens.pop();
  return tokens.join(' ');
}

/**
 * The TypeScript source with its types blanked out, line for line (as Node's type stripping
 * does): annotations (`: Type`), `as X`/`satisfies X`, non-null `!`, type arguments and
 * parameters, `interface`/`type` declarations, `import type`, `declare`d statements, access and
 * `readonly` modifiers, `implements` clauses, optional `?` marks. What is left reads as the
 * compiled JavaScript's lines do.
 */
export function stripTypes(file: string, source: string): string {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, /x$/.test(file) ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const chars = source.split('');
  const blank = (from: number, to: number): void => {
    for (let i = Math.max(0, from); i < Math.min(to, chars.length); i++) if (chars[i] !== '\n' && chars[i] !== '\r') chars[i] = ' ';
  };
  const blankNode = (n: ts.Node): void => blank(n.getStart(sf), n.end);
  const blankAnnotation = (type: ts.TypeNode | undefined): void => {
    if (!type) return;
    let colon = type.pos - 1;
    while (colon > 0 && /\s/.test(source[colon]!)) colon--;
    blank(source[colon] === ':' ? colon : type.pos, type.end);
  };
  const blankList = (list: ts.NodeArray<ts.Node> | undefined): void => {
    if (!list) return;
    let open = list.pos - 1;
    while (open > 0 && source[open] !== '<') open--;
    let close = list.end;
    while (close < source.length && source[close] !== '>') close++;
    blank(open, close + 1);
  };
  const visit = (n: ts.Node): void => {
    if (ts.isInterfaceDeclaration(n) || ts.isTypeAliasDeclaration(n) || (ts.isImportDeclaration(n) && n.importClause?.isTypeOnly) || (ts.isExportDeclaration(n) && n.isTypeOnly)) return blankNode(n);
    if (ts.canHaveModifiers(n) && ts.getModifiers(n)?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword)) return blankNode(n);
    for (const m of ts.canHaveModifiers(n) ? (ts.getModifiers(n) ?? []) : []) {
      if ([ts.SyntaxKind.PublicKeyword, ts.SyntaxKind.PrivateKeyword, ts.SyntaxKind.ProtectedKeyword, ts.SyntaxKind.ReadonlyKeyword, ts.SyntaxKind.AbstractKeyword, ts.SyntaxKind.OverrideKeyword].includes(m.kind)) blankNode(m);
    }
    if (ts.isAsExpression(n) || ts.isSatisfiesExpression(n) || ts.isNonNullExpression(n)) blank(n.expression.end, n.end);
    if (ts.isTypeAssertionExpression(n)) blank(n.getStart(sf), n.expression.getStart(sf));
    if (ts.isHeritageClause(n) && n.token === ts.SyntaxKind.ImplementsKeyword) return blankNode(n);
    if (ts.isParameter(n) || ts.isVariableDeclaration(n) || ts.isPropertyDeclaration(n) || ts.isFunctionLike(n)) blankAnnotation(n.type);
    if ((ts.isParameter(n) || ts.isPropertyDeclaration(n)) && n.questionToken) blankNode(n.questionToken);
    if (ts.isVariableDeclaration(n) && n.exclamationToken) blankNode(n.exclamationToken);
    if (ts.isFunctionLike(n) || ts.isClassLike(n)) blankList(n.typeParameters);
    if (ts.isCallExpression(n) || ts.isNewExpression(n) || ts.isExpressionWithTypeArguments(n) || ts.isTaggedTemplateExpression(n)) blankList(n.typeArguments);
    if (ts.isFunctionLike(n) || ts.isParameter(n) || ts.isVariableDeclaration(n) || ts.isPropertyDeclaration(n)) {
      // The annotation was blanked above; only visit what is left.
      ts.forEachChild(n, (c) => (ts.isTypeNode(c) ? undefined : visit(c)));
      return;
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return chars.join('');
}

function joinPath(dir: string, rel: string): string {
  const out: string[] = [];
  for (const part of `${dir}/${rel}`.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** Where a frame in build output was traced to, or why it could not be. */
export type BuiltFrameMapping =
  | {
      readonly kind: 'mapped';
      /** The built file, repository-relative (`dist/cart.js`). */
      readonly built: string;
      readonly path: string;
      readonly source: string;
      readonly line: number;
      /** How many of the captured pre/post context lines agreed. */
      readonly contextMatches: number;
    }
  | { readonly kind: 'unmapped'; readonly built: string; readonly reason: string };

const ADVICE =
  'register where its source maps are (the registration\'s `sourceMaps`, e.g. `dist/**/*.js.map`) and emit them in the build (`"sourceMap": true` in tsconfig, `sourcemap: true` in the bundler)';

/**
 * Traces a frame whose file is not in the repository at the commit back to its source, when
 * its path is build output (see {@link buildLayouts}): the source file from the tsconfigs at the
 * commit and the package layout ({@link sourceCandidates}), the line from the captured line
 * text ({@link matchBuiltLine}). Reads go through `read` (the commit's files); `tracked`, when
 * given, is the commit's file list and saves reading paths that are not there. Undefined when
 * the path is not build output; `unmapped` with the reason (the source it would be, what to
 * configure) when it cannot be traced, a minified bundle included. Rejects only when `read` does.
 */
export async function mapBuiltFrame(filename: string, frame: BuiltFrameFacts, read: (path: string) => Promise<string | undefined>, tracked?: ReadonlySet<string>): Promise<BuiltFrameMapping | undefined> {
  const layouts = buildLayouts(filename);
  if (layouts.length === 0) return undefined;
  const cache = new Map<string, Promise<string | undefined>>();
  const get = (path: string): Promise<string | undefined> => {
    if (tracked && !tracked.has(path)) return Promise.resolve(undefined);
    let text = cache.get(path);
    if (!text) cache.set(path, (text = read(path)));
    return text;
  };
  const at = `line ${frame.lineno ?? '?'}${frame.colno ? `, column ${frame.colno}` : ''}`;
  let first: { built: string; path: string; match: Exclude<LineMatch, { kind: 'matched' }> } | undefined;
  for (const layout of layouts) {
    if (tracked && layout.pkg !== '' && ![...tracked].some((p) => p.startsWith(`${layout.pkg}/`))) continue;
    const configs = new Map<string, string | undefined>();
    for (const path of tsconfigPaths(layout.pkg)) configs.set(path, await get(path));
    const settings = [...configs.keys()].flatMap((path) => tsBuildSettings(path, (p) => configs.get(p)) ?? []);
    const built = joinPath(joinPath(layout.pkg, layout.buildDir), layout.rest);
    for (const candidate of sourceCandidates(layout, settings)) {
      const source = await get(candidate);
      if (source === undefined) continue;
      if (looksMinified(frame)) {
        return { kind: 'unmapped', built, reason: `${built} is a minified bundle without source maps (${at}): its source would be ${candidate}, but a minified line cannot be traced back by its text; ${ADVICE}` };
      }
      const match = matchBuiltLine(candidate, source, frame);
      if (match.kind === 'matched') return { kind: 'mapped', built, path: candidate, source, line: match.line, contextMatches: match.contextMatches };
      first ??= { built, path: candidate, match };
    }
  }
  if (first) return { kind: 'unmapped', built: first.built, reason: unmatched(first.built, at, first.path, first.match, frame.contextLine) };
  // Named as the repository would hold it: under the deepest package directory the commit has, else at the root.
  const inRepo = layouts.filter((l) => l.pkg === '' || (tracked && [...tracked].some((p) => p.startsWith(`${l.pkg}/`)))).sort((a, b) => b.pkg.length - a.pkg.length || a.rest.length - b.rest.length)[0] ?? layouts[0]!;
  const built = joinPath(joinPath(inRepo.pkg, inRepo.buildDir), inRepo.rest);
  if (looksMinified(frame)) return { kind: 'unmapped', built, reason: `${built} is a minified bundle without source maps (${at}) and is not in the repository: it cannot be traced back to its source; ${ADVICE}` };
  return {
    kind: 'unmapped',
    built,
    reason: `${built} is build output that is not in the repository, and no source file for it was found from the build configuration (tsconfig outDir/rootDir) or the package layout (src/, lib/ or the package root); ${ADVICE}`,
  };
}

function unmatched(built: string, at: string, path: string, match: Exclude<LineMatch, { kind: 'matched' }>, contextLine: string | undefined): string {
  const head = `${built} (${at}) is build output without source maps; its source would be ${path}`;
  const line = (contextLine ?? '').trim().slice(0, 120);
  switch (match.kind) {
    case 'no-context':
      return `${head}, but the report carries no line text to find the source line by; ${ADVICE}`;
    case 'no-match':
      return `${head}, but the captured line \`${line}\` matches no line there; ${ADVICE}`;
    case 'not-confident':
      return `${head}, but the captured line \`${line}\` matches lines ${match.lines.slice(0, 5).join(', ')} there and its context does not single one out; ${ADVICE}`;
    default: {
      const never: never = match;
      return never;
    }
  }
}
