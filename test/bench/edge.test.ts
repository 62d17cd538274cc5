// The pure parts of the Worker measurement (scripts/bench/edge.ts): /proc parsing, the process tree walk and the
// isolate time read from a CPU profile; then the readers against this test's own process.
import { describe, expect, it } from 'vitest';
import { busyMsBetween, medianGapUs, type CpuProfile } from '../../scripts/bench/isolate.js';
import { descendants, parseSchedstat, parseStat, processCpu, processTable } from '../../scripts/bench/proc.js';

describe('/proc parsing', () => {
  it('reads a stat line whose command name holds spaces and parentheses', () => {
    const line =
      '4242 (V8 (Default) Wo) S 4200 4242 4200 0 -1 4194560 1234 0 0 0 157 42 0 0 20 0 7 0 98765 123456789 2500 ' +
      '18446744073709551615 1 1 0 0 0 0 0 4096 1260 0 0 0 17 1 0 0 0 0 0';
    expect(parseStat(line)).toEqual({
      pid: 4242,
      comm: 'V8 (Default) Wo',
      ppid: 4200,
      pgrp: 4242,
      utime: 157,
      stime: 42,
      cutime: 0,
      cstime: 0,
      starttime: 98765,
    });
    expect(() => parseStat('not a stat line')).toThrow(/not a \/proc stat line/);
  });

  it('reads the nanoseconds on CPU from schedstat', () => {
    expect(parseSchedstat('139507370 254613312 420\n')).toBe(139_507_370);
    expect(() => parseSchedstat('')).toThrow(/not a schedstat line/);
  });

  it('walks a process tree below a root, and nothing beside it', () => {
    const procs = [
      { pid: 1, ppid: 0 },
      { pid: 10, ppid: 1 }, // dev-edge
      { pid: 11, ppid: 10 }, // wrangler
      { pid: 12, ppid: 11 }, // workerd (proxy)
      { pid: 13, ppid: 11 }, // workerd (Worker)
      { pid: 20, ppid: 1 }, // someone else's workerd
    ];
    expect(descendants(procs, 10).sort()).toEqual([11, 12, 13]);
    expect(descendants(procs, 13)).toEqual([]);
  });

  it('finds this process and reads its CPU time, which grows with work', () => {
    expect(processTable().some((p) => p.pid === process.pid)).toBe(true);
    const before = processCpu(process.pid);
    let x = 0;
    const until = performance.now() + 30;
    while (performance.now() < until) x += Math.sqrt(x + 1);
    const after = processCpu(process.pid);
    expect(x).toBeGreaterThan(0);
    expect(after.allMs - before.allMs).toBeGreaterThan(10);
    expect(after.mainMs).toBeLessThanOrEqual(after.allMs);
  });
});

describe('isolate time from a CPU profile', () => {
  // Samples every 100 µs from t = 1,000 µs: two bursts of work with a pause between them and one idle sample.
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '' } },
      { id: 2, callFrame: { functionName: 'work', url: 'worker.js' } },
      { id: 3, callFrame: { functionName: '(idle)', url: '' } },
    ],
    startTime: 1_000,
    endTime: 10_000,
    samples: [2, 2, 2, 3, 2, 2],
    // 1,100 · 1,200 · 1,300 · 1,400 (idle) · 6,400 (after a 5 ms pause) · 6,500
    timeDeltas: [100, 100, 100, 100, 5_000, 100],
  };

  it('counts busy samples in the window, a pause as one interval and idle samples not at all', () => {
    expect(medianGapUs(profile)).toBe(100);
    expect(busyMsBetween(profile, 0, 20_000)).toBeCloseTo(0.3 + 0.2, 6);
    expect(busyMsBetween(profile, 1_150, 1_450)).toBeCloseTo(0.2, 6);
    expect(busyMsBetween(profile, 6_000, 7_000)).toBeCloseTo(0.2, 6);
    expect(busyMsBetween(profile, 2_000, 6_000)).toBe(0);
  });
});
