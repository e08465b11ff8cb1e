import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { TraceMap } from '@jridgewell/trace-mapping';
import type { SourceMapLookup } from '../domain/source-maps';
import type { KnownService } from './registry';

interface MapIndex {
  readonly builtAt: number;
  /** Generated file basename -> candidate maps (path of the generated file relative to the map root, map file). */
  readonly byBasename: Map<string, Array<{ generated: string; mapFile: string }>>;
}

const MAX_FILES = 20_000;
const RESCAN_MS = 10_000;

/**
 * Finds the source maps of a registered service: `sourceMaps` (a directory or a glob such as
 * `dist/{glob}.js.map`, absolute or relative to the service's repository, itself relative to
 * `sourceRoot` when not absolute) is scanned from its directory part for
 * `*.map` files (rescanned every 10 s), and a frame's file is matched by basename, preferring the
 * map whose generated file's relative path is the longest suffix of the frame's path. Parsed maps
 * are cached. URLs are not fetched (only directories on this machine are read).
 */
export class SourceMapStore {
  private readonly indexes = new Map<string, MapIndex>();
  private readonly maps = new Map<string, TraceMap | null>();

  constructor(private readonly sourceRoot: string = process.cwd()) {}

  /** A lookup for the service's frames, or one that finds nothing when it registered no maps. */
  lookupFor(service: KnownService | undefined): SourceMapLookup {
    if (!service?.sourceMaps || /^[a-z]+:\/\//i.test(service.sourceMaps)) return () => undefined;
    const repository = isAbsolute(service.repository) ? service.repository : resolve(this.sourceRoot, service.repository);
    // A glob (`dist/**/*.js.map`) is searched from its static prefix (`dist`).
    const segments = service.sourceMaps.split(/[\\/]/);
    const firstGlob = segments.findIndex((segment) => /[*?[{]/.test(segment));
    const directory = firstGlob < 0 ? service.sourceMaps : segments.slice(0, firstGlob).join('/') || '.';
    const root = isAbsolute(directory) ? directory : resolve(repository, directory);
    return (generatedFile) => this.find(root, generatedFile);
  }

  private find(root: string, generatedFile: string): TraceMap | undefined {
    const index = this.index(root);
    const candidates = index.byBasename.get(basename(generatedFile));
    if (!candidates || candidates.length === 0) return undefined;
    const normalised = generatedFile.split(/[\\/]/).join('/');
    let best: { generated: string; mapFile: string } | undefined;
    for (const candidate of candidates) {
      if (normalised.endsWith(`/${candidate.generated}`) || normalised === candidate.generated) {
        if (!best || candidate.generated.length > best.generated.length) best = candidate;
      }
    }
    best ??= candidates.length === 1 ? candidates[0] : undefined;
    return best ? this.load(best.mapFile) : undefined;
  }

  private load(mapFile: string): TraceMap | undefined {
    if (!this.maps.has(mapFile)) {
      try {
        this.maps.set(mapFile, new TraceMap(readFileSync(mapFile, 'utf8'), mapFile));
      } catch {
        this.maps.set(mapFile, null);
      }
    }
    return this.maps.get(mapFile) ?? undefined;
  }

  private index(root: string): MapIndex {
    const cached = this.indexes.get(root);
    if (cached && Date.now() - cached.builtAt < RESCAN_MS) return cached;
    const byBasename = new Map<string, Array<{ generated: string; mapFile: string }>>();
    let seen = 0;
    const walk = (dir: string): void => {
      let entries: string[];
      try {
        entries = readdirSync(dir);
      } catch {
        return;
      }
      for (const entry of entries) {
        if (++seen > MAX_FILES) return;
        if (entry === 'node_modules' || entry.startsWith('.')) continue;
        const path = join(dir, entry);
        let isDir = false;
        try {
          isDir = statSync(path).isDirectory();
        } catch {
          continue;
        }
        if (isDir) walk(path);
        else if (entry.endsWith('.map')) {
          const generated = relative(root, path.slice(0, -'.map'.length)).split(sep).join('/');
          const list = byBasename.get(basename(generated)) ?? [];
          list.push({ generated, mapFile: path });
          byBasename.set(basename(generated), list);
        }
      }
    };
    walk(root);
    if (cached) {
      // Maps may have been rebuilt: forget parsed ones under this root.
      for (const key of this.maps.keys()) if (key.startsWith(root)) this.maps.delete(key);
    }
    const index = { builtAt: Date.now(), byBasename };
    this.indexes.set(root, index);
    return index;
  }
}
