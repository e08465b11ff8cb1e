import ts from 'typescript';

/** Parses a .ts/.tsx/.js/.jsx/.mjs/.cjs file with parent pointers set. Never throws (syntax errors become diagnostics). */
export function parseSource(file: string, text: string): ts.SourceFile {
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, scriptKindOf(file));
}

function scriptKindOf(file: string): ts.ScriptKind {
  if (/\.tsx$/.test(file)) return ts.ScriptKind.TSX;
  if (/\.(m|c)?ts$/.test(file)) return ts.ScriptKind.TS;
  if (/\.jsx$/.test(file)) return ts.ScriptKind.JSX;
  return ts.ScriptKind.JS;
}

/** True for the file kinds the syntax-tree templates handle. */
export function isPatchableFile(file: string): boolean {
  return /\.(m|c)?[jt]sx?$/.test(file) && !/\.d\.ts$/.test(file);
}

/** 1-based line of a position. */
export function lineOf(sf: ts.SourceFile, pos: number): number {
  return sf.getLineAndCharacterOfPosition(pos).line + 1;
}

/** The text of 1-based `line`, or undefined past the end of the file. */
export function lineText(sf: ts.SourceFile, line: number): string | undefined {
  const starts = sf.getLineStarts();
  const start = starts[line - 1];
  if (start === undefined) return undefined;
  const end = starts[line] ?? sf.text.length;
  return sf.text.slice(start, end).replace(/\r?\n$/, '');
}

/** Leading whitespace of the line holding `pos`. */
export function indentAt(sf: ts.SourceFile, pos: number): string {
  const line = sf.getLineAndCharacterOfPosition(pos).line;
  const start = sf.getLineStarts()[line] ?? 0;
  return /^[ \t]*/.exec(sf.text.slice(start))?.[0] ?? '';
}

/** The unit of indentation the file uses (two spaces by default). */
export function indentUnit(sf: ts.SourceFile): string {
  const m = /\n(\t+|[ ]{2,4})\S/.exec(sf.text);
  return m?.[1] ?? '  ';
}

/** Every node (depth first, source order) for which `predicate` holds and that touches 1-based `line`. */
export function nodesOnLine<T extends ts.Node>(sf: ts.SourceFile, line: number, predicate: (node: ts.Node) => node is T): T[] {
  const starts = sf.getLineStarts();
  const from = starts[line - 1];
  if (from === undefined) return [];
  const to = starts[line] ?? sf.text.length;
  const found: T[] = [];
  const visit = (node: ts.Node): void => {
    if (node.end <= from || node.getStart(sf) >= to) return;
    if (predicate(node)) found.push(node);
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(sf, visit);
  return found;
}

/** Accepts every node (a type guard, so it can be passed where one is expected). */
export function anyNode(_node: ts.Node): _node is ts.Node {
  return true;
}

/** The outermost node that starts on 1-based `line` (usually the statement there), if any. */
export function nodeStartingOn(sf: ts.SourceFile, line: number): ts.Node | undefined {
  return nodesOnLine(sf, line, anyNode).find((n) => lineOf(sf, n.getStart(sf)) === line);
}

/** Every node of the subtree for which `predicate` holds, in source order. */
export function descendants<T extends ts.Node>(root: ts.Node, predicate: (node: ts.Node) => node is T): T[] {
  const found: T[] = [];
  const visit = (node: ts.Node): void => {
    if (predicate(node)) found.push(node);
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(root, visit);
  return found;
}

/** A function-like node with a body. */
export type FunctionNode = ts.FunctionDeclaration | ts.MethodDeclaration | ts.FunctionExpression | ts.ArrowFunction | ts.ConstructorDeclaration | ts.GetAccessorDeclaration | ts.SetAccessorDeclaration;

export function isFunctionNode(node: ts.Node): node is FunctionNode {
  return (
    ts.isFunctionDeclaration(node) ||
    ts.isMethodDeclaration(node) ||
    ts.isFunctionExpression(node) ||
    ts.isArrowFunction(node) ||
    ts.isConstructorDeclaration(node) ||
    ts.isGetAccessorDeclaration(node) ||
    ts.isSetAccessorDeclaration(node)
  );
}

/** The innermost function containing `node`, if any. */
export function enclosingFunction(node: ts.Node): FunctionNode | undefined {
  for (let n: ts.Node | undefined = node.parent; n; n = n.parent) if (isFunctionNode(n)) return n;
  return undefined;
}

/** The name a function is known by (declaration, method, or the variable/property it is assigned to). */
export function functionName(fn: FunctionNode): string | undefined {
  if ((ts.isFunctionDeclaration(fn) || ts.isMethodDeclaration(fn) || ts.isFunctionExpression(fn)) && fn.name && ts.isIdentifier(fn.name)) return fn.name.text;
  if (ts.isConstructorDeclaration(fn)) return 'constructor';
  if ((ts.isGetAccessorDeclaration(fn) || ts.isSetAccessorDeclaration(fn)) && ts.isIdentifier(fn.name)) return fn.name.text;
  const parent = fn.parent;
  if (ts.isVariableDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (ts.isPropertyAssignment(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  if (ts.isPropertyDeclaration(parent) && ts.isIdentifier(parent.name)) return parent.name.text;
  return undefined;
}

/** The innermost statement holding `node` that sits directly in a block, a source file or a case clause. */
export function enclosingListStatement(node: ts.Node): ts.Statement | undefined {
  for (let n: ts.Node | undefined = node; n; n = n.parent) {
    const p = n.parent;
    if (p && (ts.isBlock(p) || ts.isSourceFile(p) || ts.isCaseClause(p) || ts.isDefaultClause(p)) && isStatement(n)) return n;
    if (isFunctionNode(n) && n !== node) return undefined;
  }
  return undefined;
}

function isStatement(node: ts.Node): node is ts.Statement {
  return ts.isStatement(node) || ts.isVariableStatement(node) || ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node);
}

/** True when a loop lies between `node` and its enclosing function (so `continue` skips one element). */
export function insideLoop(node: ts.Node): boolean {
  for (let n: ts.Node | undefined = node.parent; n; n = n.parent) {
    if (isFunctionNode(n)) return false;
    if (ts.isForOfStatement(n) || ts.isForInStatement(n) || ts.isForStatement(n) || ts.isWhileStatement(n) || ts.isDoStatement(n)) return true;
  }
  return false;
}

/**
 * True for an expression that can be evaluated twice without side effects: identifiers, `this`,
 * and property/element reads of those with literal keys (optional chains included).
 */
export function isSimpleReference(expr: ts.Expression): boolean {
  if (ts.isIdentifier(expr) || expr.kind === ts.SyntaxKind.ThisKeyword) return true;
  if (ts.isParenthesizedExpression(expr)) return isSimpleReference(expr.expression);
  if (ts.isNonNullExpression(expr)) return isSimpleReference(expr.expression);
  if (ts.isPropertyAccessExpression(expr)) return isSimpleReference(expr.expression);
  if (ts.isElementAccessExpression(expr)) {
    const arg = expr.argumentExpression;
    return isSimpleReference(expr.expression) && (ts.isStringLiteral(arg) || ts.isNumericLiteral(arg) || ts.isIdentifier(arg));
  }
  return false;
}

/** The leftmost identifier of a reference chain (`a` in `a.b[c].d`), if any. */
export function rootIdentifier(expr: ts.Expression): ts.Identifier | undefined {
  let e: ts.Expression = expr;
  for (;;) {
    if (ts.isIdentifier(e)) return e;
    if (ts.isPropertyAccessExpression(e) || ts.isElementAccessExpression(e) || ts.isNonNullExpression(e) || ts.isParenthesizedExpression(e) || ts.isCallExpression(e)) e = e.expression;
    else return undefined;
  }
}

/** Source text of a node without surrounding trivia. */
export function textOf(sf: ts.SourceFile, node: ts.Node): string {
  return sf.text.slice(node.getStart(sf), node.end);
}

/** Text with all whitespace removed, for comparing expressions across formatting. */
export function compact(text: string): string {
  return text.replace(/\s+/g, '');
}

const STRING_METHODS = new Set(['toUpperCase', 'toLowerCase', 'trim', 'join', 'toFixed', 'toString', 'padStart', 'padEnd', 'replace', 'replaceAll', 'toISOString', 'toLocaleString', 'charAt', 'substring', 'toLocaleDateString', 'stringify']);
const NUMBER_METHODS = new Set(['indexOf', 'findIndex', 'round', 'floor', 'ceil', 'max', 'min', 'abs', 'parseInt', 'parseFloat', 'Number', 'getTime', 'now', 'sqrt', 'pow']);
const ARRAY_METHODS = new Set(['map', 'filter', 'slice', 'concat', 'sort', 'flat', 'flatMap', 'split', 'keys', 'values', 'entries', 'from', 'reverse', 'splice', 'fill']);
const BOOLEAN_METHODS = new Set(['includes', 'some', 'every', 'startsWith', 'endsWith', 'has', 'test', 'isArray', 'isInteger', 'isNaN', 'isFinite']);
const ARITHMETIC = new Set([ts.SyntaxKind.MinusToken, ts.SyntaxKind.AsteriskToken, ts.SyntaxKind.SlashToken, ts.SyntaxKind.PercentToken, ts.SyntaxKind.AsteriskAsteriskToken]);
const COMPARISON = new Set([
  ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken, ts.SyntaxKind.EqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken,
  ts.SyntaxKind.LessThanToken, ts.SyntaxKind.GreaterThanToken, ts.SyntaxKind.LessThanEqualsToken, ts.SyntaxKind.GreaterThanEqualsToken,
  ts.SyntaxKind.AmpersandAmpersandToken, ts.SyntaxKind.BarBarToken, ts.SyntaxKind.InstanceOfKeyword, ts.SyntaxKind.InKeyword,
]);

/**
 * What a function should give back when a guard stops it early: nothing (`return;`), a value
 * (`known` is false when nothing said which, and `undefined` was the guess), or `none` when the
 * function's contract names a type no neutral value fits (a required-field object, a function, a
 * non-empty literal): then the guard must throw or not be written.
 */
export type Fallback =
  | { readonly kind: 'void' }
  | { readonly kind: 'value'; readonly text: string; readonly known: boolean }
  | { readonly kind: 'none'; readonly type: string };

/** What the checker says a function returns (see `TypeProject.oracle`); undefined when it knows nothing. */
export type ReturnTypeLookup = (fn: FunctionNode) => Fallback | undefined;

/**
 * The neutral value a function returns from an early exit, fitting its contract, from the best
 * evidence there is: the type checker's declared or inferred return type when `checked` is given
 * (`string` -> `''`, `T[]` -> `[]`, `number` -> `0`, `boolean` -> `false`, `void` -> `return;`,
 * `T | undefined` -> `undefined`, `T | null` -> `null`, an object whose fields are all optional
 * -> `{}`, any other object -> none); else its annotation; else what its other `return`s produce
 * (a string, an array, a number…; object literals -> none); else how its callers in the file use
 * the result: a caller that checks it for undefined/null accepts `undefined`, one that maps it
 * wants `[]`, one that reads a field from it wants an object (none). `undefined` is only known to
 * fit when the type includes it or the callers handle it.
 */
export function returnFallback(fn: FunctionNode, checked?: ReturnTypeLookup): Fallback {
  if (ts.isConstructorDeclaration(fn) || ts.isSetAccessorDeclaration(fn)) return { kind: 'void' };
  const fromChecker = checked?.(fn);
  if (fromChecker && !(fromChecker.kind === 'value' && !fromChecker.known)) return fromChecker;
  if (fn.type) {
    const f = fallbackForType(fn.type, isAsync(fn));
    if (f.kind !== 'value' || f.known) return f;
  }
  if (ts.isArrowFunction(fn) && !ts.isBlock(fn.body)) return orCallers(fn, fallbackForExpression(fn.body));
  const returns = fn.body ? descendants(fn.body, ts.isReturnStatement).filter((r) => enclosingFunction(r) === fn) : [];
  const withValue = returns.filter((r) => r.expression !== undefined);
  if (withValue.length === 0 && !fn.type) return { kind: 'void' };
  const found = withValue.map((r) => fallbackForExpression(r.expression as ts.Expression));
  const known = found.find((f) => f.kind === 'value' && f.known);
  if (known) return known;
  const none = found.find((f) => f.kind === 'none');
  return orCallers(fn, none ?? { kind: 'value', text: 'undefined', known: false });
}

/** When the function's own code left the fallback open (or found only objects), how its callers in the file use its result decides. */
function orCallers(fn: FunctionNode, own: Fallback): Fallback {
  if (own.kind === 'void' || (own.kind === 'value' && own.known)) return own;
  const use = callerUse(fn);
  if (use === 'handles-missing') return { kind: 'value', text: 'undefined', known: true };
  if (own.kind === 'none') return own;
  if (use === 'array') return { kind: 'value', text: '[]', known: true };
  if (use === 'string') return { kind: 'value', text: "''", known: true };
  if (use === 'object') return { kind: 'none', type: 'an object its callers read fields from' };
  return own;
}

type CallerUse = 'handles-missing' | 'array' | 'string' | 'object' | 'unknown';

const MISSING_CHECKS = new Set([ts.SyntaxKind.QuestionQuestionToken, ts.SyntaxKind.BarBarToken, ts.SyntaxKind.AmpersandAmpersandToken, ts.SyntaxKind.EqualsEqualsToken, ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken]);

/**
 * How the calls to `fn` in its file use the result: every use must check it for a missing value
 * (`?? x`, `?.`, `if (!r)`, `r == null`…) for `handles-missing`; otherwise the first telling use
 * (a list method, a string method, a field read).
 */
function callerUse(fn: FunctionNode): CallerUse {
  const name = functionName(fn);
  if (!name || name === 'constructor') return 'unknown';
  const sf = fn.getSourceFile();
  const calls = descendants(sf, ts.isCallExpression).filter((c) => {
    const callee = c.expression;
    return (ts.isIdentifier(callee) && callee.text === name) || (ts.isPropertyAccessExpression(callee) && callee.name.text === name);
  });
  const uses = calls.flatMap((c) => usesOfResult(c));
  if (uses.length === 0) return 'unknown';
  if (uses.every((u) => u === 'handles-missing')) return 'handles-missing';
  return uses.find((u) => u !== 'handles-missing' && u !== 'unknown') ?? 'unknown';
}

function usesOfResult(call: ts.CallExpression): CallerUse[] {
  let e: ts.Expression = call;
  while (ts.isAwaitExpression(e.parent) || ts.isParenthesizedExpression(e.parent)) e = e.parent;
  const direct = useOf(e);
  if (direct !== undefined) return [direct];
  const p = e.parent;
  if (ts.isVariableDeclaration(p) && p.initializer === e && ts.isIdentifier(p.name)) {
    const name = p.name.text;
    const scope = enclosingFunction(p) ?? p.getSourceFile();
    const refs = descendants(scope, ts.isIdentifier).filter((i) => i.text === name && i !== p.name && i.getStart() > p.getStart());
    return refs.map((r) => useOf(r) ?? 'unknown');
  }
  return ts.isExpressionStatement(p) ? [] : ['unknown'];
}

function useOf(e: ts.Expression): CallerUse | undefined {
  const p = e.parent;
  if ((ts.isPropertyAccessExpression(p) || ts.isElementAccessExpression(p)) && p.expression === e) {
    if (p.questionDotToken) return 'handles-missing';
    const prop = ts.isPropertyAccessExpression(p) ? p.name.text : '';
    if (ARRAY_USES.has(prop)) return 'array';
    if (STRING_USES.has(prop)) return 'string';
    return 'object';
  }
  if (ts.isBinaryExpression(p) && MISSING_CHECKS.has(p.operatorToken.kind)) return 'handles-missing';
  if (ts.isPrefixUnaryExpression(p) && p.operator === ts.SyntaxKind.ExclamationToken) return 'handles-missing';
  if ((ts.isIfStatement(p) || ts.isConditionalExpression(p) || ts.isWhileStatement(p)) && (ts.isIfStatement(p) || ts.isWhileStatement(p) ? p.expression === e : p.condition === e)) return 'handles-missing';
  if ((ts.isForOfStatement(p) && p.expression === e) || ts.isSpreadElement(p)) return 'array';
  if (ts.isTemplateSpan(p)) return 'unknown';
  return undefined;
}

const ARRAY_USES = new Set(['map', 'filter', 'forEach', 'reduce', 'length', 'some', 'every', 'find', 'flatMap', 'push', 'slice', 'concat', 'sort', 'join', 'at', 'includes']);
const STRING_USES = new Set(['toUpperCase', 'toLowerCase', 'trim', 'split', 'padStart', 'padEnd', 'replace', 'replaceAll', 'startsWith', 'endsWith', 'charAt', 'substring']);

export function isAsync(fn: FunctionNode): boolean {
  return (ts.getCombinedModifierFlags(fn as ts.Declaration) & ts.ModifierFlags.Async) !== 0;
}

function fallbackForType(type: ts.TypeNode, unwrapPromise: boolean): Fallback {
  if (ts.isUnionTypeNode(type)) {
    const kinds = type.types.map((t) => t.kind);
    if (kinds.includes(ts.SyntaxKind.UndefinedKeyword)) return { kind: 'value', text: 'undefined', known: true };
    if (type.types.some((t) => ts.isLiteralTypeNode(t) && t.literal.kind === ts.SyntaxKind.NullKeyword)) return { kind: 'value', text: 'null', known: true };
    const first = type.types[0];
    return first ? fallbackForType(first, unwrapPromise) : { kind: 'value', text: 'undefined', known: false };
  }
  if (unwrapPromise && ts.isTypeReferenceNode(type) && ts.isIdentifier(type.typeName) && type.typeName.text === 'Promise') {
    const arg = type.typeArguments?.[0];
    return arg ? fallbackForType(arg, false) : { kind: 'void' };
  }
  switch (type.kind) {
    case ts.SyntaxKind.VoidKeyword:
    case ts.SyntaxKind.UndefinedKeyword:
      return { kind: 'void' };
    case ts.SyntaxKind.NumberKeyword:
      return { kind: 'value', text: '0', known: true };
    case ts.SyntaxKind.StringKeyword:
      return { kind: 'value', text: "''", known: true };
    case ts.SyntaxKind.BooleanKeyword:
      return { kind: 'value', text: 'false', known: true };
    case ts.SyntaxKind.ArrayType:
    case ts.SyntaxKind.TupleType:
      return { kind: 'value', text: '[]', known: true };
    case ts.SyntaxKind.TypeLiteral: {
      const members = (type as ts.TypeLiteralNode).members;
      return members.every((m) => (ts.isPropertySignature(m) || ts.isMethodSignature(m)) && m.questionToken !== undefined) ? { kind: 'value', text: '{}', known: true } : { kind: 'none', type: 'an object with required fields' };
    }
    default:
      break;
  }
  if (ts.isLiteralTypeNode(type) && type.literal.kind === ts.SyntaxKind.NullKeyword) return { kind: 'value', text: 'null', known: true };
  if (ts.isTypeReferenceNode(type) && ts.isIdentifier(type.typeName)) {
    const name = type.typeName.text;
    if (name === 'Array' || name === 'ReadonlyArray') return { kind: 'value', text: '[]', known: true };
    if (name === 'Record' || name === 'Partial') return { kind: 'value', text: '{}', known: true };
    if (name === 'Map' || name === 'Set') return { kind: 'value', text: `new ${name}()`, known: true };
  }
  return { kind: 'value', text: 'undefined', known: false };
}

function fallbackForExpression(expr: ts.Expression): Fallback {
  const value = (text: string): Fallback => ({ kind: 'value', text, known: true });
  let e = expr;
  while (ts.isParenthesizedExpression(e) || ts.isAwaitExpression(e) || ts.isAsExpression(e) || ts.isNonNullExpression(e)) e = e.expression;
  if (ts.isNumericLiteral(e) || (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.MinusToken)) return value('0');
  if (ts.isStringLiteral(e) || ts.isTemplateExpression(e) || ts.isNoSubstitutionTemplateLiteral(e)) return value("''");
  if (ts.isArrayLiteralExpression(e)) return value('[]');
  if (e.kind === ts.SyntaxKind.TrueKeyword || e.kind === ts.SyntaxKind.FalseKeyword) return value('false');
  if (ts.isPrefixUnaryExpression(e) && e.operator === ts.SyntaxKind.ExclamationToken) return value('false');
  if (e.kind === ts.SyntaxKind.NullKeyword) return value('null');
  if (ts.isObjectLiteralExpression(e)) return e.properties.length === 0 ? value('{}') : { kind: 'none', type: 'an object' };
  if (ts.isBinaryExpression(e)) {
    if (ARITHMETIC.has(e.operatorToken.kind)) return value('0');
    if (COMPARISON.has(e.operatorToken.kind)) return value('false');
    if (e.operatorToken.kind === ts.SyntaxKind.PlusToken) {
      const l = fallbackForExpression(e.left);
      const r = fallbackForExpression(e.right);
      if ((l.kind === 'value' && l.text === "''") || (r.kind === 'value' && r.text === "''")) return value("''");
      if ((l.kind === 'value' && l.text === '0') || (r.kind === 'value' && r.text === '0')) return value('0');
    }
  }
  if (ts.isPropertyAccessExpression(e) && e.name.text === 'length') return value('0');
  if (ts.isCallExpression(e)) {
    const callee = e.expression;
    const name = ts.isPropertyAccessExpression(callee) ? callee.name.text : ts.isIdentifier(callee) ? callee.text : '';
    if (name === 'String') return value("''");
    if (STRING_METHODS.has(name)) return value("''");
    if (NUMBER_METHODS.has(name)) return value('0');
    if (ARRAY_METHODS.has(name)) return value('[]');
    if (BOOLEAN_METHODS.has(name)) return value('false');
    if (name === 'reduce') {
      const init = e.arguments[1];
      if (init) return fallbackForExpression(init);
    }
  }
  return { kind: 'value', text: 'undefined', known: false };
}

/** A text replacement; `start`..`end` are offsets in the original text. */
export interface TextEdit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** Applies non-overlapping edits to `text` (in any order). Throws RangeError when two overlap. */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const sorted = [...edits].sort((a, b) => b.start - a.start || b.end - a.end);
  let out = text;
  let limit = Number.POSITIVE_INFINITY;
  for (const edit of sorted) {
    if (edit.end > limit) throw new RangeError(`overlapping edits at offset ${edit.start}`);
    out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
    limit = edit.start;
  }
  return out;
}

/** Start offset of the line holding `pos`. */
export function lineStartAt(sf: ts.SourceFile, pos: number): number {
  const line = sf.getLineAndCharacterOfPosition(pos).line;
  return sf.getLineStarts()[line] ?? 0;
}

/** How a value is used after `name` is bound in `scope`: as a list, a record, text, or unknown. */
export function usageOf(name: string, scope: ts.Node): 'array' | 'object' | 'string' | 'unknown' {
  let usage: 'array' | 'object' | 'string' | 'unknown' = 'unknown';
  const visit = (node: ts.Node): void => {
    if (usage !== 'unknown') return;
    if (ts.isIdentifier(node) && node.text === name) {
      const p = node.parent;
      if (ts.isPropertyAccessExpression(p) && p.expression === node) {
        const prop = p.name.text;
        if (['map', 'filter', 'forEach', 'reduce', 'length', 'some', 'every', 'find', 'flatMap', 'push', 'slice', 'concat', 'sort', 'at'].includes(prop)) usage = 'array';
        else if (['toUpperCase', 'toLowerCase', 'trim', 'split', 'padStart', 'replace', 'startsWith', 'endsWith'].includes(prop)) usage = 'string';
        else usage = 'object';
      } else if ((ts.isForOfStatement(p) && p.expression === node) || ts.isSpreadElement(p)) usage = 'array';
      else if (ts.isSpreadAssignment(p)) usage = 'object';
      else if (ts.isElementAccessExpression(p) && p.expression === node) usage = ts.isNumericLiteral(p.argumentExpression) ? 'array' : 'object';
      else if (ts.isCallExpression(p) && ts.isPropertyAccessExpression(p.expression) && ts.isIdentifier(p.expression.expression) && p.expression.expression.text === 'Object') usage = 'object';
    }
    ts.forEachChild(node, visit);
  };
  visit(scope);
  return usage;
}

/** The literal a value of that usage defaults to, if any. */
export function defaultForUsage(usage: ReturnType<typeof usageOf>): string | undefined {
  return usage === 'array' ? '[]' : usage === 'object' ? '{}' : usage === 'string' ? "''" : undefined;
}
