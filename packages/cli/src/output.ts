import { SingleBar } from 'cli-progress';
import { styleText } from 'node:util';

/**
 * Where a command prints. Tests and embedders pass their own.
 *
 * @example
 * ```ts
 * const lines: string[] = [];
 * const program = createProgram({ out: (line) => lines.push(line), err: () => {} } satisfies ProgramIO);
 * await program.parseAsync(['node', 'loomdb', 'stats', '--json']);
 * ```
 */
export interface ProgramIO {
  out: (line: string) => void;
  /** Human-facing notes and progress; default stderr. */
  err?: (line: string) => void;
}

/** Colour only when writing to a terminal and NO_COLOR is unset. */
export function paint(color: 'green' | 'red' | 'yellow' | 'dim' | 'bold', text: string, stream: NodeJS.WriteStream = process.stdout): string {
  if (!stream.isTTY || process.env.NO_COLOR !== undefined) return text;
  return styleText(color, text);
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/**
 * A progress bar on stderr, shown only on a terminal and never with --json;
 * `show` writes the counts (bytes by default). Returns the `onProgress` to
 * pass and a `stop`.
 */
export function progressBar(label: string, json: boolean, show: (n: number) => string = bytes): { onProgress?: (p: { done: number; total: number }) => void; stop: () => void } {
  if (json || !process.stderr.isTTY) return { stop: () => undefined };
  const bar = new SingleBar({
    format: `${label} [{bar}] {percentage}% | {doneText} of {totalText}`,
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
  });
  let started = false;
  return {
    onProgress: ({ done, total }) => {
      if (!started) {
        bar.start(total, 0, { doneText: show(0), totalText: show(total) });
        started = true;
      }
      bar.setTotal(total);
      bar.update(done, { doneText: show(done), totalText: show(total) });
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}
