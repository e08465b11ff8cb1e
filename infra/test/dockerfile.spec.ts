// Dockerfile and .dockerignore: no image can be built on this machine (no Docker engine, no base
// image to pull), so this spec lints the Dockerfile with dockerfile-utils (the linter of the VS Code
// Docker language service), reads its stages with dockerfile-ast, and checks the properties
// docs/images.md promises. infra/images/rehearse.sh runs the same stage commands outside Docker.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';

const ROOT = join(__dirname, '..', '..');
const source = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(source);

/** Each stage's name and instructions (keyword and argument text), in order. */
function stages(): Array<{ name: string; from: string; instructions: Array<{ keyword: string; args: string }> }> {
  const result: Array<{ name: string; from: string; instructions: Array<{ keyword: string; args: string }> }> = [];
  for (const instruction of dockerfile.getInstructions() as Instruction[]) {
    const keyword = instruction.getKeyword();
    // The instruction's own text, flags included, continuation lines joined.
    const args = instruction.getTextContent().replace(/^\s*\S+\s*/, '').replace(/\s*\\\n\s*/g, ' ').trim();
    if (keyword === 'FROM') {
      const [from = '', , name = ''] = args.split(/\s+/);
      result.push({ name, from, instructions: [] });
    } else result[result.length - 1]?.instructions.push({ keyword, args });
  }
  return result;
}

const all = stages();
const stage = (name: string) => {
  const found = all.find((s) => s.name === name);
  if (!found) throw new Error(`no stage ${name}`);
  return found;
};
const text = (name: string) => stage(name).instructions.map((i) => `${i.keyword} ${i.args}`);

describe('Dockerfile', () => {
  it('lints clean (dockerfile-utils: no error or warning)', () => {
    expect(validate(source, {}).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('has the stages manifests -> deps -> build and manifests -> prod-deps -> runtime, in that order', () => {
    expect(all.map((s) => `${s.name}<${s.from}`)).toEqual([
      'base<node:${NODE_VERSION}-bookworm-slim',
      'manifests<base',
      'deps<base',
      'prod-deps<base',
      'build<deps',
      'runtime<node:${NODE_VERSION}-bookworm-slim',
    ]);
  });

  it('builds on a current LTS Node.js (an even major, 22 or later)', () => {
    const arg = dockerfile.getARGs().find((a) => a.getProperty()?.getName() === 'NODE_VERSION');
    const major = Number(arg?.getProperty()?.getValue());
    expect(major % 2).toBe(0);
    expect(major).toBeGreaterThanOrEqual(22);
  });

  it('installs dependencies from the manifests and the lock alone, before any source is copied', () => {
    expect(text('manifests').join('\n')).toMatch(/cp package\.json package-lock\.json \/out\/[\s\S]*-name package\.json/);
    for (const name of ['deps', 'prod-deps']) {
      const copies = stage(name).instructions.filter((i) => i.keyword === 'COPY');
      expect(copies.map((c) => c.args)).toEqual(['--from=manifests /out/ ./']);
    }
    expect(text('deps')).toContain('RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts');
    expect(text('prod-deps')).toContain('RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts');
    // The sources arrive in the build stage only, after deps' layers.
    const build = text('build');
    expect(build.indexOf('COPY . .')).toBeLessThan(build.findIndex((line) => line.includes('npx tsc -b')));
  });

  it('builds the service named by SERVICE and the CLI, and collects only what runs', () => {
    const build = text('build').join('\n');
    expect(build).toContain('npx tsc -b "services/${SERVICE}" libs/cli');
    expect(build).toContain('rm -rf src test fixtures node_modules project.json tsconfig*.json');
  });

  it('runtime: production dependencies and compiled output only, tini as PID 1, the CLI on PATH, non-root, probes on /health/ready', () => {
    const runtime = stage('runtime').instructions;
    const copies = runtime.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    expect(copies).toEqual(['--from=prod-deps /app/package.json ./', '--from=prod-deps /app/node_modules ./node_modules', '--from=build /out/ ./']);
    const runs = runtime.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
    expect(runs).toMatch(/apt-get install -y --no-install-recommends git ca-certificates tini/);
    expect(runs).toContain('ln -s /app/libs/cli/bin/antibody.js /usr/local/bin/antibody');
    expect(runtime.find((i) => i.keyword === 'ENTRYPOINT')?.args).toBe('["/usr/bin/tini", "--"]');
    expect(runtime.find((i) => i.keyword === 'CMD')?.args).toBe('["node", "/app/main.js"]');
    expect(runtime.find((i) => i.keyword === 'USER')?.args).toBe('node');
    expect(runtime.find((i) => i.keyword === 'HEALTHCHECK')?.args).toContain('/health/ready');
  });

  it('matches infra/images/rehearse.sh, which runs the same stage commands without Docker', () => {
    const rehearsal = readFileSync(join(ROOT, 'infra', 'images', 'rehearse.sh'), 'utf8');
    for (const command of ['npm ci --omit=dev --ignore-scripts', 'npm ci --ignore-scripts', 'npx tsc -b "services/${SERVICE}" libs/cli', 'rm -rf src test fixtures node_modules project.json tsconfig*.json']) {
      expect(source).toContain(command);
      expect(rehearsal).toContain(command);
    }
  });
});

describe('.dockerignore', () => {
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');

  it('keeps node_modules, build output, .git and everything but sources out of the context', () => {
    for (const entry of ['**/node_modules', '**/dist', '.git', '**/*.spec.ts', 'docs', 'infra', 'examples/*/*', '!examples/*/package.json']) expect(ignored).toContain(entry);
  });
});

describe('production dependencies', () => {
  // The runtime image installs `dependencies` only: every package the services and the libraries
  // they load import at run time must be one (or a workspace, or part of Node.js).
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const runtimeFiles = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      if (e.isDirectory()) return ['testing', 'scripts', 'test', 'node_modules', 'dist'].includes(e.name) ? [] : runtimeFiles(join(dir, e.name));
      return e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [join(dir, e.name)] : [];
    });

  it('are all hoisted to the root node_modules, the only one the runtime stage copies', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, unknown> };
    expect(Object.keys(lock.packages).filter((path) => /^(libs|services)\/[^/]+\/node_modules\//.test(path))).toEqual([]);
  });

  it('cover every package imported by services/*/src and libs/*/src (test helpers aside)', () => {
    const roots = [
      ...readdirSync(join(ROOT, 'services')).map((s) => join(ROOT, 'services', s, 'src')),
      ...readdirSync(join(ROOT, 'libs'))
        .filter((l) => l !== 'testing')
        .map((l) => join(ROOT, 'libs', l, 'src')),
    ];
    const missing = new Set<string>();
    for (const file of roots.flatMap((r) => { try { return runtimeFiles(r); } catch { return []; } })) {
      const code = readFileSync(file, 'utf8');
      for (const match of code.matchAll(/^(?:import|export)\s(?!type\b)[^'"]*?from\s+'([^'.][^']*)'|\brequire\('([^'.][^']*)'\)|\bimport\('([^'.][^']*)'\)/gm)) {
        const specifier = (match[1] ?? match[2] ?? match[3]) as string;
        // A template of code the service writes (the validator's generated tests), not an import of its own.
        if (specifier.includes('${')) continue;
        const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] as string);
        if (name.startsWith('node:') || builtinModules.includes(name) || name.startsWith('@antibody/')) continue;
        if (!(name in pkg.dependencies)) missing.add(`${name} (${file.slice(ROOT.length + 1)})`);
      }
    }
    expect([...missing]).toEqual([]);
  });
});
