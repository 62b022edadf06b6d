import type { KillTarget, ResponseRecord } from '../types.js';

/**
 * What each kill of a failover run did to the clients, from the records the
 * engine sees. A kill's window runs from the kill to the next kill (or the
 * end of the run); a record belongs to the window it completed in, so a
 * request in flight at the kill counts where its user felt it.
 */
export interface KillRecord {
  /** 1, 2, … in order. */
  n: number;
  target: KillTarget;
  /** w2, g1, redis. */
  id: string;
  pid: number;
  /** ms since the bench started. */
  atMs: number;
  /** Why nothing was killed at this time (no live process of the tier), else null. */
  skipped: string | null;
  /** Until the ready file named a new live process in the victim's place (null: not seen). */
  replacedAfterMs: number | null;
  replacedByPid: number | null;
  /**
   * Client view: from the kill to the first answer to a request sent after
   * the last error of the window; 0 when no client saw an error; null when
   * errors went on to the end of the window.
   */
  recoveredAfterMs: number | null;
  errors: number;
  /** First and last error of the window, ms after the kill. */
  errorWindow: { firstMs: number; lastMs: number } | null;
  errorsByKind: Record<string, number>;
  /** Sessions answered before the kill. */
  sessionsActive: number;
  /**
   * Of those, answered again on the same session id to a request sent after
   * the kill (at any time before the run ended, in this window or a later one).
   */
  sessionsKept: number;
  /** Sessions the server answered 404 for in this window. */
  sessionsLost: number;
  /**
   * Of the active sessions, those neither kept nor lost: their clients sent
   * nothing more on them that was answered before the run ended, so the run
   * cannot tell (e.g. a kill just before the end).
   */
  sessionsNotSeenAgain: number;
}

export type KillStart = Pick<KillRecord, 'target' | 'id' | 'pid' | 'atMs' | 'skipped'>;

interface Window {
  kill: KillRecord;
  /** Sessions answered before the kill. */
  active: Set<string>;
  kept: Set<string>;
  lost: Set<string>;
  lastErrorAt: number | null;
  firstOkAfterLastError: number | null;
}

export class KillLedger {
  private readonly windows: Window[] = [];
  /** Sessions answered so far, not yet lost. */
  private readonly answered = new Set<string>();

  /** Opens the window of a kill (a skipped one too, so the report says it was due). */
  add(kill: KillStart): KillRecord {
    const record: KillRecord = {
      ...kill,
      n: this.windows.length + 1,
      replacedAfterMs: null,
      replacedByPid: null,
      recoveredAfterMs: null,
      errors: 0,
      errorWindow: null,
      errorsByKind: {},
      sessionsActive: 0,
      sessionsKept: 0,
      sessionsLost: 0,
      sessionsNotSeenAgain: 0,
    };
    this.windows.push({
      kill: record,
      active: kill.skipped ? new Set() : new Set(this.answered),
      kept: new Set(),
      lost: new Set(),
      lastErrorAt: null,
      firstOkAfterLastError: null,
    });
    return record;
  }

  replaced(kill: KillRecord, pid: number, atMs: number): void {
    kill.replacedByPid = pid;
    kill.replacedAfterMs = Math.round(atMs - kill.atMs);
  }

  observe(record: ResponseRecord): void {
    const window = this.windowAt(record.at);
    if (record.sessionLost && record.sessionId) {
      this.answered.delete(record.sessionId);
      window?.lost.add(record.sessionId);
    }
    if (record.ok && record.sessionId) this.answered.add(record.sessionId);
    if (!window) return;
    const { kill } = window;
    if (!record.ok) {
      const after = Math.round(record.at - kill.atMs);
      kill.errors += 1;
      kill.errorWindow = { firstMs: kill.errorWindow?.firstMs ?? after, lastMs: after };
      const kind = record.errorKind ?? 'error';
      kill.errorsByKind[kind] = (kill.errorsByKind[kind] ?? 0) + 1;
      window.lastErrorAt = record.at;
      window.firstOkAfterLastError = null;
      return;
    }
    // Recovered: a request sent after the last error was answered (an answer to
    // one sent earlier only shows that errors stopped, e.g. because the load did).
    if (
      window.lastErrorAt !== null &&
      window.firstOkAfterLastError === null &&
      record.intendedAt >= window.lastErrorAt
    )
      window.firstOkAfterLastError = record.at;
    // Kept: answered again, to a request sent after the kill. An answer that completes after a
    // later kill still shows the session survived this one.
    if (record.sessionId)
      for (const earlier of this.windows)
        if (
          !earlier.kill.skipped &&
          record.intendedAt >= earlier.kill.atMs &&
          earlier.active.has(record.sessionId)
        )
          earlier.kept.add(record.sessionId);
  }

  /** The kills with their windows closed. */
  result(): KillRecord[] {
    return this.windows.map((window) => {
      const { kill } = window;
      kill.sessionsActive = window.active.size;
      kill.sessionsKept = [...window.kept].filter((id) => !window.lost.has(id)).length;
      kill.sessionsLost = window.lost.size;
      const lostActive = [...window.active].filter((id) => window.lost.has(id)).length;
      kill.sessionsNotSeenAgain = kill.sessionsActive - kill.sessionsKept - lostActive;
      kill.recoveredAfterMs = kill.skipped
        ? null
        : window.lastErrorAt === null
          ? 0
          : window.firstOkAfterLastError === null
            ? null
            : Math.round(window.firstOkAfterLastError - kill.atMs);
      return kill;
    });
  }

  private windowAt(at: number): Window | undefined {
    for (let i = this.windows.length - 1; i >= 0; i--) {
      const window = this.windows[i]!;
      // A skipped kill changed nothing: its time still belongs to the kill before it.
      if (!window.kill.skipped && at >= window.kill.atMs) return window;
    }
    return undefined;
  }
}
