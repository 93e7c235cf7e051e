/**
 * Readable logs for a person at a terminal (development, a TTY): pino-pretty, written synchronously
 * so that nothing is lost when the process exits. Colours unless NO_COLOR is set. Loaded only when used: JSON logs need none of it.
 */
export async function prettyLogStream(destination: NodeJS.WritableStream | number = 1): Promise<NodeJS.WritableStream> {
  const { default: pretty } = await import('pino-pretty');
  return pretty({
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
    sync: true,
    destination,
  });
}
