/** `redis://user:***@host`: a Redis URL safe to print (kept apart from connection.ts so config code stays light). */
export function redactRedisUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, (_match, auth: string) => {
    const user = auth.includes(':') ? auth.split(':')[0] : '';
    return `//${user ? `${user}:` : ':'}***@`;
  });
}
