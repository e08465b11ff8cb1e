import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ts from 'typescript';

/**
 * Compiles an app's `src/*.ts` into `build/` with source maps (sources inlined), as the app's own
 * build would: the app runs the JS, Antibody maps its frames back to the TypeScript.
 */
export function buildApp(appDir: string, files: readonly string[]): void {
  mkdirSync(join(appDir, 'build'), { recursive: true });
  for (const file of files) {
    const source = readFileSync(join(appDir, 'src', file), 'utf8');
    const out = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, sourceMap: true, inlineSources: true, strict: true },
    });
    const js = file.replace(/\.ts$/, '.js');
    const map = JSON.parse(out.sourceMapText ?? '{}') as { sources: string[]; file: string };
    map.sources = [`../src/${file}`];
    map.file = js;
    writeFileSync(join(appDir, 'build', js), out.outputText.replace(/\/\/# sourceMappingURL=.*$/m, `//# sourceMappingURL=${js}.map`));
    writeFileSync(join(appDir, 'build', `${js}.map`), JSON.stringify(map));
  }
}

/** Runs `node <script>` in `cwd` with `env` until it exits; resolves with its output. */
export function runApp(cwd: string, script: string, env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { cwd, env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not exit within ${timeoutMs}ms; stdout: ${stdout} stderr: ${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
