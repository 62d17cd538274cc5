// CPU time of another process from Linux's /proc: the parsing is pure (tested), the reads are thin wrappers. Used by
// edge.ts to charge each request to the workerd process that runs the Worker.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** Process group. */
  pgrp: number;
  /** User and system time in clock ticks (USER_HZ, 100 a second on Linux). */
  utime: number;
  stime: number;
  /** The same, of its children that have exited and been waited for. */
  cutime: number;
  cstime: number;
  /** Start time after boot, in clock ticks. */
  starttime: number;
}

/** One line of /proc/<pid>/stat. The command name is in parentheses and may itself hold spaces and parentheses. */
export function parseStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc stat line: ${JSON.stringify(text.slice(0, 80))}`);
  // Fields after the name, numbered as in proc(5) from field 3 (state) on.
  const rest = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const field = (n: number) => Number(rest[n - 3]);
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    ppid: field(4),
    pgrp: field(5),
    utime: field(14),
    stime: field(15),
    cutime: field(16),
    cstime: field(17),
    starttime: field(22),
  };
}

/** Nanoseconds on CPU: the first of /proc/<pid>/task/<tid>/schedstat's three numbers. */
export function parseSchedstat(text: string): number {
  const first = text.trim().split(/\s+/)[0] ?? '';
  if (!/^\d+$/.test(first)) throw new Error(`not a schedstat line: ${JSON.stringify(text.slice(0, 80))}`);
  return Number(first);
}

/** Every process below `root` in a process table, nearest first. */
export function descendants(procs: readonly Pick<ProcStat, 'pid' | 'ppid'>[], root: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const out: number[] = [];
  const queue = [root];
  while (queue.length) for (const child of children.get(queue.shift()!) ?? []) out.push(child), queue.push(child);
  return out;
}

const read = (file: string) => readFileSync(file, 'utf8');

export function processTable(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      out.push(parseStat(read(`/proc/${name}/stat`)));
    } catch {
      // gone since the listing
    }
  }
  return out;
}

export function commandLine(pid: number): string[] {
  return read(`/proc/${pid}/cmdline`).split('\0').filter(Boolean);
}

export interface CpuSample {
  /** All threads of the process (the isolate's thread, V8's GC and compiler threads, I/O threads). */
  allMs: number;
  /** The main thread only: where workerd runs isolates and its event loop. */
  mainMs: number;
}

/** CPU time a process has used so far, with nanosecond precision from the scheduler's per-thread accounting. */
export function processCpu(pid: number): CpuSample {
  let all = 0;
  let main = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let ns: number;
    try {
      ns = parseSchedstat(read(`/proc/${pid}/task/${tid}/schedstat`));
    } catch {
      continue; // a thread that ended since the listing
    }
    all += ns;
    if (tid === String(pid)) main = ns;
  }
  return { allMs: all / 1e6, mainMs: main / 1e6 };
}

/**
 * The workerd process that runs the Worker under `wrangler dev`, below `root`. wrangler starts two: one for its own
 * proxy and one for the Worker, which is the one given an inspector address; the newest wins if that changes.
 */
export function findWorkerd(root: number): number | undefined {
  const table = processTable();
  const below = new Set(descendants(table, root));
  const workerds = table.filter((p) => below.has(p.pid) && p.comm === 'workerd');
  const withInspector = workerds.filter((p) => {
    try {
      return commandLine(p.pid).some((a) => a.startsWith('--inspector-addr'));
    } catch {
      return false;
    }
  });
  const pick = (withInspector.length ? withInspector : workerds).sort((a, b) => b.starttime - a.starttime)[0];
  return pick?.pid;
}
