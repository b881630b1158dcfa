import { LoomError } from '@loomdb/db';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** A result as the reference memory server shapes it: the JSON as text for the model, and the same object as structuredContent. */
export function jsonResult(structured: Record<string, unknown>, text = JSON.stringify(structured, null, 2)): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: structured };
}

/** Any failure as a LoomError: ours keep their code; anything else is INTERNAL with its message. */
export function asLoomError(e: unknown): LoomError {
  if (LoomError.is(e)) return e;
  return new LoomError('INTERNAL', e instanceof Error ? e.message : String(e), { cause: e });
}

/** A tool error the model can read: `CODE: message`, so it can tell bad input (fix and retry) from a busy or broken database. */
export function errorResult(e: unknown): CallToolResult {
  const error = asLoomError(e);
  return { content: [{ type: 'text', text: `${error.code}: ${error.message}` }], isError: true };
}

/** Runs a tool body; whatever it throws becomes a tool error result, so one bad call never takes the server down. */
export function tool<A>(body: (args: A) => Promise<CallToolResult>): (args: A) => Promise<CallToolResult> {
  return async (args) => {
    try {
      return await body(args);
    } catch (e) {
      return errorResult(e);
    }
  };
}
