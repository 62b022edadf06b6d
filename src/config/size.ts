import { UserError } from '../errors.js';

/** `4mb`, `512kb`, `100000` (bytes); binary units (1kb = 1024 bytes). */
export function parseSize(value: string | number, what = 'size'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new UserError(`invalid ${what} ${value}`);
    return Math.round(value);
  }
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|k|kib|mb|m|mib|gb|g|gib)?$/i.exec(value.trim());
  if (!match) throw new UserError(`invalid ${what} '${value}': use bytes or a unit, e.g. 4mb, 512kb`);
  const unit = (match[2] ?? 'b').toLowerCase();
  const scale = unit.startsWith('k')
    ? 1024
    : unit.startsWith('m')
      ? 1024 ** 2
      : unit.startsWith('g')
        ? 1024 ** 3
        : 1;
  return Math.round(Number(match[1]) * scale);
}
