/**
 * The LoomDB native-messaging host: the browser extension's bridge to a
 * LoomDB memory database, over Chrome's native messaging (length-prefixed
 * JSON on stdin/stdout). The `loomdb-native-host` executable runs it and
 * installs it; these exports serve a connection from your own program.
 *
 * ```ts fragment
 * import { runHost } from '@loomdb/native-host';
 * await runHost({ path: './memory.loomdb' }); // answers the browser on stdin/stdout
 * ```
 *
 * @packageDocumentation
 */
export { encodeFrame, FrameDecoder, MAX_INCOMING_BYTES, MAX_OUTGOING_BYTES, HEADER_BYTES, type DecodedFrame } from './framing.js';
export { replyMessages, type ReplyChunk } from './chunking.js';
export { FrameWriter } from './frame-writer.js';
export {
  parseRequest,
  RequestError,
  PROTOCOL_VERSION,
  SUPPORTED_PROTOCOL_VERSIONS,
  REQUEST_PARAMS,
  REQUEST_TYPES,
  type Request,
  type RequestId,
  type RequestParams,
  type RequestType,
  type Reply,
} from './protocol.js';
export { HANDLERS, type HostContext, type HelloResult, type StatsResult } from './handlers.js';
export { serveConnection, MAX_IN_FLIGHT, type ConnectionEnd, type ConnectionOptions } from './connection.js';
export { HostSession, type SessionOptions } from './session.js';
export { MigrationSession, type MigrationState } from './migration.js';
export { MessageStream } from './message-stream.js';
export { runHost, type RunHostOptions } from './run-host.js';
export { fileLogger, defaultLogFile, type HostLogger } from './log.js';
export { HOST_NAME, BROWSERS, hostLocation, type Browser, type HostLocation, type LocationOptions } from './locations.js';
export { launcherScript, readLauncher, type LauncherTarget } from './launcher.js';
export { installHost, uninstallHost, hostStatus, HOST_SCRIPT, type InstallOptions, type InstallResult, type HostManifest, type HostStatus, type TargetOptions } from './install.js';
export { registerManifest, registeredManifest, unregisterManifest, reg, type RegistryCommand } from './windows-registry.js';
export { createProgram, main, type ProgramIO } from './cli.js';
