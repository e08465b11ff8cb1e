import { originalPositionFor, sourceContentFor, type TraceMap } from '@jridgewell/trace-mapping';
import type { Frame } from './stack';

/** Finds the parsed source map of a generated file (by the frame's filename); undefined when none. */
export type SourceMapLookup = (generatedFile: string) => TraceMap | undefined;

const CONTEXT_LINES = 5;

// A map's embedded sources split into lines once, not once per mapped frame (sources can be large
// and every occurrence of a bug maps the same frames). Kept as long as the parsed map is.
const linesBySource = new WeakMap<TraceMap, Map<string, string[] | null>>();

function sourceLines(map: TraceMap, source: string): string[] | undefined {
  let sources = linesBySource.get(map);
  if (!sources) linesBySource.set(map, (sources = new Map()));
  let lines = sources.get(source);
  if (lines === undefined) {
    const content = sourceContentFor(map, source);
    lines = content === null ? null : content.split(/\r?\n/);
    sources.set(source, lines);
  }
  return lines ?? undefined;
}

/**
 * Rewrites frames through source maps so they point at the original (e.g. TypeScript) file, line,
 * column and function, and takes the code context from the map's `sourcesContent` (the compiled
 * file's context would be wrong). Frames without a map, or whose position maps to nothing, are
 * returned unchanged. Pure given `lookup`; never throws (a broken map leaves its frames as they were).
 */
export function applySourceMaps(frames: readonly Frame[], lookup: SourceMapLookup): Frame[] {
  return frames.map((frame) => {
    if (frame.lineno === undefined) return frame;
    let map: TraceMap | undefined;
    try {
      map = lookup(frame.filename);
    } catch {
      return frame;
    }
    if (!map) return frame;
    try {
      // Stack columns are 1-based; trace-mapping columns are 0-based.
      const position = originalPositionFor(map, { line: frame.lineno, column: Math.max(0, (frame.colno ?? 1) - 1) });
      if (position.source === null || position.line === null) return frame;
      const filename = position.source.replace(/^file:\/\//, '');
      const mapped: Frame = {
        ...frame,
        filename,
        lineno: position.line,
        ...(position.column !== null ? { colno: position.column + 1 } : {}),
        ...(position.name ? { function: frame.function ?? position.name } : {}),
        inApp: frame.inApp && !/(^|[\\/])node_modules[\\/]/.test(filename),
      };
      delete mapped.contextLine;
      delete mapped.preContext;
      delete mapped.postContext;
      const lines = sourceLines(map, position.source);
      if (lines !== undefined) {
        const at = position.line - 1;
        const line = lines[at];
        if (line !== undefined) {
          mapped.contextLine = line;
          mapped.preContext = lines.slice(Math.max(0, at - CONTEXT_LINES), at);
          mapped.postContext = lines.slice(at + 1, at + 1 + CONTEXT_LINES);
        }
      }
      return mapped;
    } catch {
      return frame;
    }
  });
}
