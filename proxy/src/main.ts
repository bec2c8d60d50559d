/**
 * Entry point of the routing proxy (`npm run proxy`): loads and validates the configuration, starts
 * the server, and shuts down gracefully on SIGTERM/SIGINT.
 */
import { ConfigError, loadProxyConfigFromEnv } from './config';
import { installProcessGuard } from './guard';
import { createLogger, flushLogger, logOptions } from './log';
import { startProxy } from './server';

async function main(): Promise<void> {
  let config;
  try {
    config = loadProxyConfigFromEnv(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`routing proxy: invalid configuration\n${e.issues.map((i) => `  ${i}`).join('\n')}\n`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger(logOptions(config));
  // Whatever way the process ends, buffered log lines are written first.
  process.once('exit', () => flushLogger(log));
  let handle;
  try {
    handle = await startProxy(config, { logger: log });
  } catch (e) {
    process.stderr.write(`routing proxy: cannot start: ${(e as Error).message}\n`);
    flushLogger(log);
    process.exit(1);
  }
  // From here on an error no request's guard caught is logged and the process keeps serving.
  installProcessGuard(log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: no new connections, letting open streams finish');
    handle
      .close()
      .then(() => process.exit(0))
      .catch((err: Error) => {
        process.stderr.write(`routing proxy: shutdown error: ${err.message}\n`);
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((e: Error) => {
  process.stderr.write(`routing proxy: ${e.message}\n`);
  process.exit(1);
});
