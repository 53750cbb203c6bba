// A write's id: the client id and sequence number that make it exactly-once (DESIGN.md), written
// `<clientId>:<seq>`. The one definition of the format, for the write path, the admin API, the CLI
// and the simulator. Imports nothing: the CLI loads it on every run.

export function writeIdOf(clientId: string, seq: number): string {
  return `${clientId}:${seq}`;
}

/**
 * The client id and sequence a write id names, or null when it is not `CLIENT_ID:SEQ` with SEQ a
 * positive integer in plain digits (the client id may itself contain ':').
 */
export function parseWriteId(writeId: string): { clientId: string; seq: number } | null {
  const at = writeId.lastIndexOf(':');
  const digits = writeId.slice(at + 1);
  const seq = Number(digits);
  if (at <= 0 || !/^[1-9][0-9]*$/.test(digits) || !Number.isSafeInteger(seq)) return null;
  return { clientId: writeId.slice(0, at), seq };
}
