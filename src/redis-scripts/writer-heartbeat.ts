/**
 * A writer of a batch (an enqueue or a replay) refreshes its heartbeat every chunk; one that stops (crash,
 * outage) holds its batch open this long after its last heartbeat, then a delayed check completes the batch.
 */
export const WRITER_HEARTBEAT_MS = 15_000;
