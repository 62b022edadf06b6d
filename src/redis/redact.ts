/**
 * `redis://user:***@host`, `…?sentinelPassword=***`: a Redis URL safe to print, every password
 * (the data nodes' and the sentinels') replaced. Kept apart from connection.ts so config code
 * stays light.
 */
export function redactRedisUrl(url: string): string {
  return url
    .replace(/\/\/([^@/]*)@/, (_match, auth: string) => {
      const user = auth.includes(':') ? auth.split(':')[0] : '';
      return `//${user ? `${user}:` : ':'}***@`;
    })
    .replace(/([?&]sentinelPassword=)[^&#]*/, '$1***');
}
