import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { applyTemplate } from './templates';
import { configFor, describeDiagnostics, filesToRead, typeProject, type ProjectSnapshot } from './typecheck';

const libDir = dirname(require.resolve('typescript/lib/lib.d.ts'));
const libs = new Map<string, string | undefined>();
/** TypeScript's own lib files, as fix-io's reader serves them. */
function readLib(name: string): string | undefined {
  if (!libs.has(name)) {
    try {
      libs.set(name, readFileSync(join(libDir, name), 'utf8'));
    } catch {
      libs.set(name, undefined);
    }
  }
  return libs.get(name);
}

function snapshot(files: Record<string, string>): ProjectSnapshot {
  return { files: new Map(Object.entries(files)), readLib };
}

const strictConfig = JSON.stringify({ compilerOptions: { strict: true, target: 'ES2022', module: 'commonjs', rootDir: 'src', outDir: 'dist' }, include: ['src'] });

describe('type-checking candidates against the repository at the commit', () => {
  const files = {
    'tsconfig.json': strictConfig,
    'src/format.ts': 'export function format(s: string): string {\n  return s.trim();\n}\n',
    'src/user.ts': [
      "import { format } from './format';",
      '',
      'export interface User { name?: string }',
      '',
      'export function label(user: User | undefined): string {',
      '  return format(user!.name!);',
      '}',
      '',
    ].join('\n'),
  };
  const project = typeProject(snapshot(files));

  it('reports a candidate that returns undefined from a function typed string, with file, line and code', () => {
    const after = files['src/user.ts'].replace('  return format', '  if (user == null) return undefined;\n  return format');
    const diagnostics = project.check([{ file: 'src/user.ts', after }]);
    expect(diagnostics).toEqual([{ file: 'src/user.ts', line: 6, code: 2322, message: "Type 'undefined' is not assignable to type 'string'." }]);
    expect(describeDiagnostics(diagnostics)).toBe("src/user.ts:6 TS2322 Type 'undefined' is not assignable to type 'string'.");
  });

  it('passes a candidate that returns a value of the declared type', () => {
    const after = files['src/user.ts'].replace('  return format', "  if (user == null) return '';\n  return format");
    expect(project.check([{ file: 'src/user.ts', after }])).toEqual([]);
  });

  it('types imports from the repository: a wrong use of an imported function is new', () => {
    const after = files['src/user.ts'].replace('  return format(user!.name!);', '  const n: number = format(user!.name!);\n  return String(n);');
    expect(project.check([{ file: 'src/user.ts', after }]).map((d) => d.code)).toEqual([2322]);
  });

  it('counts only new diagnostics: errors the file already had do not block a candidate', () => {
    const broken = typeProject(snapshot({ ...files, 'src/user.ts': `${files['src/user.ts']}const wrong: number = 'text';\n` }));
    const after = `${files['src/user.ts']}const wrong: number = 'text';\n`.replace('  return format', "  if (user == null) return '';\n  return format");
    expect(broken.check([{ file: 'src/user.ts', after }])).toEqual([]);
  });

  it('gives the same answer when asked again (the overlay is taken back after each check)', () => {
    const bad = files['src/user.ts'].replace('  return format', '  if (user == null) return undefined;\n  return format');
    expect(project.check([{ file: 'src/user.ts', after: bad }])).toHaveLength(1);
    expect(project.check([{ file: 'src/user.ts', after: files['src/user.ts'] }])).toEqual([]);
    expect(project.check([{ file: 'src/user.ts', after: bad }])).toHaveLength(1);
  });
});

describe('JavaScript', () => {
  const js = 'function total(items) {\n  let sum = 0;\n  for (const item of items) sum += item.price;\n  return sum;\n}\nmodule.exports = { total };\n';

  it('syntax-checks JavaScript without a tsconfig: a syntax error and a redeclaration are new, loose typing is not', () => {
    const project = typeProject(snapshot({ 'lib/total.js': js }));
    expect(project.check([{ file: 'lib/total.js', after: js.replace('  return sum;', '  return sum;;\n  }') }]).length).toBeGreaterThan(0);
    expect(project.check([{ file: 'lib/total.js', after: js.replace('  let sum = 0;', '  let sum = 0;\n  let sum = 1;') }]).map((d) => d.code)).toContain(2451);
    expect(project.check([{ file: 'lib/total.js', after: js.replace('  return sum;', "  return sum + 'x';") }])).toEqual([]);
  });

  it('type-checks JavaScript where the repository enables checkJs, with JSDoc types', () => {
    const source = '/** @param {{ name?: string }} user @returns {string} */\nfunction label(user) {\n  return (user.name || "").trim();\n}\nmodule.exports = { label };\n';
    const project = typeProject(snapshot({ 'tsconfig.json': JSON.stringify({ compilerOptions: { allowJs: true, checkJs: true, strict: true, noEmit: true } }), 'src/label.js': source }));
    const after = source.replace('  return (user', '  if (!user) return undefined;\n  return (user');
    expect(project.check([{ file: 'src/label.js', after }]).map((d) => `${d.line} TS${d.code}`)).toEqual(['3 TS2322']);
  });
});

describe('which files a check reads', () => {
  it('reads the tsconfig chain first, then the imports of the changed file (transitively, bounded), and declaration files', () => {
    const listing = new Set(['tsconfig.base.json', 'app/tsconfig.json', 'app/src/a.ts', 'app/src/b.ts', 'app/src/c.ts', 'app/src/unused.ts', 'app/src/globals.d.ts', 'node_modules/x/index.d.ts']);
    const files = new Map<string, string>([['app/src/a.ts', "import { b } from './b';\nimport x from 'x';\nexport const a = b;\n"]]);
    expect(filesToRead(['app/src/a.ts'], files, listing)).toEqual(['app/tsconfig.json']);
    files.set('app/tsconfig.json', JSON.stringify({ extends: '../tsconfig.base.json', include: ['src'] }));
    expect(filesToRead(['app/src/a.ts'], files, listing)).toEqual(['tsconfig.base.json']);
    files.set('tsconfig.base.json', JSON.stringify({ compilerOptions: { strict: true } }));
    expect(filesToRead(['app/src/a.ts'], files, listing).sort()).toEqual(['app/src/b.ts', 'app/src/globals.d.ts']);
    files.set('app/src/b.ts', "export { c as b } from './c';\n");
    files.set('app/src/globals.d.ts', 'declare const VERSION: string;\n');
    expect(filesToRead(['app/src/a.ts'], files, listing)).toEqual(['app/src/c.ts']);
    files.set('app/src/c.ts', 'export const c = 1;\n');
    expect(filesToRead(['app/src/a.ts'], files, listing)).toEqual([]);
    expect(filesToRead(['app/src/a.ts'], new Map([...files].filter(([p]) => !/[bc]\.ts$/.test(p))), listing, 2)).toEqual([]);
  });

  it('picks, under a solution-style tsconfig, the referenced config whose include takes the file in', () => {
    const files = new Map([
      ['tsconfig.json', JSON.stringify({ files: [], references: [{ path: './tsconfig.spec.json' }, { path: './tsconfig.lib.json' }] })],
      ['tsconfig.lib.json', JSON.stringify({ include: ['src/**/*.ts'], exclude: ['src/**/*.spec.ts'] })],
      ['tsconfig.spec.json', JSON.stringify({ include: ['src/**/*.spec.ts'] })],
    ]);
    expect(configFor('src/a.ts', files)).toBe('tsconfig.lib.json');
    expect(configFor('src/a.spec.ts', files)).toBe('tsconfig.spec.json');
    expect(configFor('other/a.ts', files)).toBe('tsconfig.json');
  });
});

describe('fallbacks that fit the contract (guard-clause, with and without the checker)', () => {
  const guard = (file: string, source: string, line: number, types?: ReturnType<ReturnType<typeof typeProject>['oracle']>) =>
    applyTemplate('guard-clause', {
      file,
      source,
      line,
      errorClass: 'TypeError:undefined-property-access',
      errorType: 'TypeError',
      message: "Cannot read properties of undefined (reading 'name')",
      captures: { prop: 'name' },
      ...(types ? { types } : {}),
    });

  it('uses the checked return type of a call into another file: an empty string, not undefined', () => {
    const source = "import { format } from './format';\n\nexport function label(user) {\n  return format(user.name);\n}\n";
    const project = typeProject(snapshot({ 'src/format.ts': 'export function format(s: string): string {\n  return s.trim();\n}\n', 'src/label.ts': source }));
    expect(guard('src/label.ts', source, 4)[0]?.after).toContain('if (user == null) return undefined;');
    expect(guard('src/label.ts', source, 4, project.oracle('src/label.ts'))[0]?.after).toContain("if (user == null) return '';");
  });

  it('reads a JSDoc return type in JavaScript through the checker', () => {
    const source = '/** @returns {string[]} */\nfunction tags(post) {\n  return post.meta.name;\n}\nmodule.exports = { tags };\n';
    expect(guard('src/tags.js', source, 3)[0]?.after).toContain('if (post.meta == null) return undefined;');
    const project = typeProject(snapshot({ 'src/tags.js': source }));
    expect(guard('src/tags.js', source, 3, project.oracle('src/tags.js'))[0]?.after).toContain('if (post.meta == null) return [];');
  });

  it('throws a typed error instead of returning undefined when the type is an object with required fields', () => {
    const source = 'interface Profile { id: number; name: string }\n\nexport function profile(user: { account?: { name: string } }): Profile {\n  return { id: 1, name: user.account.name };\n}\n';
    const project = typeProject(snapshot({ 'src/profile.ts': source }));
    const [withTypes] = guard('src/profile.ts', source, 4, project.oracle('src/profile.ts'));
    expect(withTypes?.after).toContain('if (user.account == null) throw new TypeError(`profile: expected user.account to be defined');
    expect(withTypes?.after).not.toContain('return undefined');
    expect(withTypes?.rationale).toContain('No early return fits profile() (it returns Profile)');
    const [syntactic] = guard('src/profile.ts', source, 4);
    expect(syntactic?.after).toContain('throw new TypeError');
  });

  it('without the checker: object-literal returns mean no neutral value; callers that check for a missing result accept undefined', () => {
    const returnsObject = 'function summary(order) {\n  return { total: order.lines.name };\n}\nconst s = summary(o);\nconsole.log(s.total);\n';
    expect(guard('src/s.js', returnsObject, 2)[0]?.after).toContain('throw new TypeError');
    const handled = 'function find(order) {\n  return { total: order.lines.name };\n}\nconst s = find(o);\nif (!s) console.log("none");\nconsole.log(find(p) ?? "none");\n';
    expect(guard('src/f.js', handled, 2)[0]?.after).toContain('if (order.lines == null) return undefined;');
  });

  it('without the checker: how callers use the result decides when the function itself says nothing', () => {
    const mapped = 'function rows(table) {\n  return table.data.name;\n}\nrows(t).map((r) => r.id);\n';
    expect(guard('src/r.js', mapped, 2)[0]?.after).toContain('if (table.data == null) return [];');
    const trimmed = 'function title(doc) {\n  return doc.head.name;\n}\nconst t = title(d);\nconsole.log(t.trim());\n';
    expect(guard('src/t.js', trimmed, 2)[0]?.after).toContain("if (doc.head == null) return '';");
  });

  it('does not offer a bare optional chain as the returned value where undefined does not fit', () => {
    const source = 'interface Profile { id: number }\n\nexport function profile(user: { account?: Profile }): Profile {\n  return user.account.name as unknown as Profile;\n}\n';
    const project = typeProject(snapshot({ 'src/p.ts': source }));
    const variants = applyTemplate('optional-chaining', {
      file: 'src/p.ts',
      source,
      line: 4,
      errorClass: 'TypeError:undefined-property-access',
      errorType: 'TypeError',
      message: "Cannot read properties of undefined (reading 'name')",
      captures: { prop: 'name' },
      types: project.oracle('src/p.ts')!,
    });
    expect(variants).toEqual([]);
  });
});
