// One writer per embedded data directory: a lock file naming its holder (pid, the process's start time, what it is),
// created atomically, and taken over only once that process is gone, so a holder killed with -9 leaves nothing stuck.
import { linkSync, mkdirSync, readFileSync, renameSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface LockHolder {
  pid: number;
  /** The holder's start time as the kernel tells it (Linux), so a recycled pid is not taken for the holder. */
  started: string | null;
  /** What holds it: `npm start`, `npm run mcp`, … */
  command: string;
  /** Where the holder serves, once it listens. */
  url?: string;
  since: string;
}

export class DataDirInUse extends Error {
  constructor(
    readonly dir: string,
    readonly holder: LockHolder,
  ) {
    super(
      `${dir} is in use by ${holder.command} (pid ${holder.pid}, since ${holder.since}` +
        `${holder.url ? `, serving ${holder.url}` : ''}); one process at a time may open an embedded data directory: ` +
        'stop it, use its API, or set DATA_DIR to another directory',
    );
    this.name = 'DataDirInUse';
  }
}

export interface DataDirLock {
  readonly file: string;
  /** Records where this process serves, for the message another process gets. */
  serving(url: string): void;
  release(): void;
}

/** The start time of `pid` (field 22 of /proc/<pid>/stat), or null where /proc is not available. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing parenthesis.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function alive(holder: LockHolder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return holder.started === null || startTime(holder.pid) === null || startTime(holder.pid) === holder.started;
}

function readHolder(file: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // Unreadable or half-written by a holder killed while writing it: nobody can be proven to hold it.
    return { pid: 0, started: null, command: 'unknown', since: '' };
  }
}

/** Writes `content` to a file of its own, then links it into place: the lock appears whole or not at all. */
function tryCreate(file: string, content: string): boolean {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  try {
    linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(tmp);
  }
}

/**
 * Takes the lock of `dir` for this process or throws DataDirInUse naming the live holder. A stale lock is replaced
 * under a short-lived takeover directory, so two starters never both replace it.
 */
export function lockDataDir(dir: string, command: string): DataDirLock {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'lock');
  const takeover = `${file}.takeover`;
  const me: LockHolder = {
    pid: process.pid,
    started: startTime(process.pid),
    command,
    since: new Date().toISOString(),
  };
  for (let attempt = 0; ; attempt++) {
    if (tryCreate(file, JSON.stringify(me))) break;
    const holder = readHolder(file);
    if (holder && alive(holder)) throw new DataDirInUse(path.resolve(dir), holder);
    if (attempt > 20) throw new Error(`could not take the lock ${file}`);
    try {
      mkdirSync(takeover);
    } catch {
      // Another process is replacing the stale lock; a takeover left behind by a killed process expires.
      const since = statSync(takeover, { throwIfNoEntry: false })?.mtimeMs;
      if (since !== undefined && Date.now() - since > 10_000) rmdirSync(takeover, { recursive: false });
      continue;
    }
    try {
      const again = readHolder(file);
      if (again && !alive(again) && JSON.stringify(again) === JSON.stringify(holder)) unlinkSync(file);
    } finally {
      rmdirSync(takeover);
    }
  }
  // Replaces the file in one step, so a reader never sees half of it.
  const write = () => {
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(me), { mode: 0o600 });
    renameSync(tmp, file);
  };
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    const holder = readHolder(file);
    if (holder?.pid === process.pid) unlinkSync(file);
  };
  process.once('exit', release);
  return {
    file,
    serving(url) {
      me.url = url;
      write();
    },
    release,
  };
}

/** For command-line entry points: a DataDirInUse ends the process with its message (exit 1); anything else rethrows. */
export function exitIfInUse(err: unknown): never {
  if (!(err instanceof DataDirInUse)) throw err;
  console.error(`error: ${err.message}`);
  process.exit(1);
}
