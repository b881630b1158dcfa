import { parseArgs } from 'node:util';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { openContext, type MemoryContext } from './context.js';
import { serveHttp } from './http.js';
import { importMemoryFile } from './import-jsonl.js';
import { log } from './log.js';
import { createServer } from './server.js';
import { asLoomError } from './tool-result.js';

const USAGE = `loomdb-mcp — a Model Context Protocol memory server on LoomDB

  loomdb-mcp [--path <db>]                          serve on stdio (what MCP clients launch)
  loomdb-mcp --http [--port 3333] [--path <db>]     serve Streamable HTTP on http://127.0.0.1:<port>/mcp
                                                   (LOOMDB_MCP_TOKEN set: requests need that bearer token)
  loomdb-mcp import-jsonl <memory.jsonl> [--path <db>]
                                                   import a @modelcontextprotocol/server-memory file

--path defaults to $LOOMDB_PATH, else the platform's data folder (the same database as the loomdb CLI).`;

function onShutdown(close: () => Promise<void>): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    close().then(
      () => process.exit(0),
      (e) => {
        log(`close: ${asLoomError(e).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // On stdio the client ends the session by closing our stdin.
  process.stdin.on('end', stop);
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { path: { type: 'string' }, http: { type: 'boolean' }, port: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    return;
  }
  const [command, file] = positionals;
  if (command === 'import-jsonl') {
    if (!file) throw new Error('import-jsonl needs the memory file: loomdb-mcp import-jsonl <memory.jsonl>');
    const context = await openContext({ path: values.path });
    try {
      // The report is the command's output; this is not the stdio server, so stdout is free.
      process.stdout.write(`${JSON.stringify(await importMemoryFile(context.db, context.graph, file), null, 2)}\n`);
    } finally {
      await context.close();
    }
    return;
  }
  if (command !== undefined) throw new Error(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
  const context: MemoryContext = await openContext({ path: values.path });
  if (values.http) {
    const port = values.port === undefined ? 3333 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`--port must be an integer from 0 to 65535, got ${values.port}`);
    const http = await serveHttp(context, { port });
    // Tests and scripts read the bound port from here (stderr: stdout stays clean).
    log(`listening on http://127.0.0.1:${http.port}/mcp (database ${context.path})`);
    onShutdown(async () => {
      await http.close();
      await context.close();
    });
    return;
  }
  await createServer(context).connect(new StdioServerTransport());
  log(`serving on stdio (database ${context.path})`);
  onShutdown(() => context.close());
}

main(process.argv.slice(2)).catch((e) => {
  const error = asLoomError(e);
  log(`${error.code}: ${error.message}`);
  process.exit(1);
});
