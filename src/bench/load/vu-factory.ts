import { VirtualUser, type VirtualUserDeps } from '../clients/virtual-user.js';
import { seededRandom, type VuView } from '../scenarios/scenario.js';
import type { Era } from '../types.js';

/**
 * Creates virtual users with eras in the requested mix, exactly: with
 * `--mix 2025=70,2026=30` and 10 users, 7 speak 2025 and 3 speak 2026, and
 * any prefix of the sequence is as close to the mix as whole users allow.
 */
export interface UserSlice {
  /** This process's share: users whose global number n has n % count === index. */
  index: number;
  count: number;
}

export class VuFactory {
  readonly all: VirtualUser[] = [];
  private readonly assigned: Record<Era, number> = { '2025': 0, '2026': 0 };
  private readonly randoms = new Map<VirtualUser, () => number>();
  /** Eras of global users 0, 1, …, in the mix's exact sequence (shared by every process). */
  private readonly eraSequence: Era[] = [];
  private readonly globalAssigned: Record<Era, number> = { '2025': 0, '2026': 0 };

  constructor(
    private readonly mix: Record<Era, number>,
    private readonly deps: VirtualUserDeps,
    private readonly seed: number,
    private readonly slice: UserSlice = { index: 0, count: 1 },
  ) {}

  get count(): number {
    return this.all.length;
  }

  /**
   * The next user of this process. With --procs, process p of N creates the
   * global users p, p + N, p + 2N, …, so the union of all processes is the
   * same users, eras and seeds one process would have run.
   */
  create(): VirtualUser {
    const index = this.all.length * this.slice.count + this.slice.index;
    const era = this.eraOf(index);
    this.assigned[era] += 1;
    const vu = new VirtualUser(index, era, this.deps);
    this.all.push(vu);
    this.randoms.set(vu, seededRandom(this.seed * 7919 + vu.index));
    return vu;
  }

  private eraOf(index: number): Era {
    while (this.eraSequence.length <= index) {
      const era = nextEra(this.mix, this.globalAssigned, this.eraSequence.length);
      this.globalAssigned[era] += 1;
      this.eraSequence.push(era);
    }
    return this.eraSequence[index] ?? '2025';
  }

  /** What a scenario sees of a user for its next step. */
  view(vu: VirtualUser): VuView {
    const random = this.randoms.get(vu) ?? Math.random;
    return { index: vu.index, era: vu.era, iteration: vu.iteration, random };
  }

  eraCounts(): Record<Era, number> {
    return { ...this.assigned };
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.all.map((vu) => vu.close().catch(() => undefined)));
  }
}

/** The era furthest behind its share after `created` users. */
export function nextEra(mix: Record<Era, number>, assigned: Record<Era, number>, created: number): Era {
  const deficit = (era: Era): number => ((created + 1) * mix[era]) / 100 - assigned[era];
  if (mix['2026'] <= 0) return '2025';
  if (mix['2025'] <= 0) return '2026';
  return deficit('2026') > deficit('2025') ? '2026' : '2025';
}
