// The one assertion of consensus/ and storage/: a state the algorithm or the store can never reach
// stops the replica with a message that says which rule broke. Never used for bad input from
// outside (a peer's frame, a config, a disk): that is refused and counted, not asserted.

export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

/** Throws InvariantError(message) unless `condition` holds. `message` may be a function, built only on failure. */
export function invariant(condition: unknown, message: string | (() => string)): asserts condition {
  if (condition) return;
  throw new InvariantError(typeof message === 'function' ? message() : message);
}
