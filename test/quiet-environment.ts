/**
 * The jest environment of every test file: what a file prints while it passes (CDK validation
 * reports of synths that carry expected warnings, deprecation notices, asset-bundling lines) is
 * dropped, and kept in full for a file in which a test or hook fails. A green run prints jest's
 * summary and nothing else; a red one shows everything its failing files printed. Failures
 * themselves are reported by jest as always.
 */
import { TestEnvironment } from 'jest-environment-node';

/** Console methods held back while a single file runs verbose (its console prints at once). */
const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace', 'dir'] as const;

/** The circus events this environment reacts to (a subset of jest-circus's event union). */
interface TestEvent {
  readonly name: string;
  readonly test?: { readonly errors: readonly unknown[] };
}

/** jest's buffered console (runs of several files): it records each message with its origin. */
interface BufferedConsole {
  getBuffer(): unknown;
  _buffer: unknown[];
}

/** True for the console that only records; the verbose one (a single file) also prints at once. */
function isBuffered(c: unknown): c is BufferedConsole {
  const b = c as BufferedConsole & { _stdout?: unknown };
  return typeof b.getBuffer === 'function' && Array.isArray(b._buffer) && b._stdout === undefined;
}

/** Node's jest environment, holding back what a passing file prints. */
export default class QuietEnvironment extends TestEnvironment {
  private failed = false;
  private held: Array<() => void> = [];
  private readonly restore: Array<() => void> = [];

  override async setup(): Promise<void> {
    await super.setup();
    // jest has put the file's console in place before setup. A buffered console keeps its messages
    // (and where they came from) until the file ends: they are dropped then if nothing failed. A
    // console that prints at once has its messages held here instead.
    const console = this.global.console as unknown as Record<string, (...args: unknown[]) => void>;
    if (!isBuffered(console)) {
      for (const method of CONSOLE_METHODS) {
        const original = console[method];
        if (typeof original !== 'function') continue;
        console[method] = (...args: unknown[]) => this.hold(() => original.apply(console, args));
        this.restore.push(() => {
          console[method] = original;
        });
      }
    }
    // Lines a library writes straight to a worker's streams (CDK's "Bundling asset ..."). Not when
    // jest runs a single file in its own process: there these streams also carry jest's reporter.
    const inWorker = typeof process.send === 'function';
    for (const stream of inWorker ? [process.stdout, process.stderr] : []) {
      const original = stream.write;
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        this.hold(() => original.call(stream, chunk as string, ...(rest.filter((r) => typeof r !== 'function') as [])));
        const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
        cb?.();
        return true;
      }) as typeof stream.write;
      this.restore.push(() => {
        stream.write = original;
      });
    }
  }

  override async teardown(): Promise<void> {
    this.held = [];
    for (const undo of this.restore.splice(0).reverse()) undo();
    await super.teardown();
  }

  /** Output is shown at once after a failure, held before it. */
  private hold(show: () => void): void {
    if (this.failed) show();
    else this.held.push(show);
  }

  handleTestEvent(event: TestEvent): void {
    const failure = (event.name === 'test_done' && (event.test?.errors.length ?? 0) > 0) || event.name === 'hook_failure' || event.name === 'error';
    if (failure && !this.failed) {
      this.failed = true;
      for (const show of this.held.splice(0)) show();
    }
    if (event.name === 'run_finish' && !this.failed) {
      const console = this.global.console as unknown;
      if (isBuffered(console)) console._buffer.length = 0;
      this.held = [];
    }
  }
}
