/** Diagnostics go to stderr only: on stdio, stdout carries the protocol and one stray line breaks the client. */
export function log(message: string): void {
  process.stderr.write(`[loomdb-mcp] ${message}\n`);
}
