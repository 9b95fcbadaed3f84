/** A connection URL safe to log or put in an error: the password is masked, an unparsable URL is not echoed. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}
