/** A writable text sink: process.stdout, or a buffer in tests. */
export interface TextSink {
  write(text: string): unknown;
}

/** Where a command prints: data on stdout, notes on stderr, one line at a time. */
export interface Output {
  /** One line of data (stdout). */
  line(text: string): void;
  /** One line for people watching, not data (stderr). */
  note(text: string): void;
}

export function outputTo(stdout: TextSink, stderr: TextSink): Output {
  return {
    line: (text) => void stdout.write(`${text}\n`),
    note: (text) => void stderr.write(`${text}\n`),
  };
}
