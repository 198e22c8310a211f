/**
 * Sweeps beyond one machine: a BullMQ queue of runs on Redis, workers that train them, and the
 * runs' events back through Redis Streams to the live server. See docs/scaling.md.
 */
export {
  lastLoggedSeq,
  lastStoredSeq,
  newerThanStored,
  runStreams,
  type RunStreamsOptions,
} from './consumer.js';
export {
  BUILTIN_BUMP,
  resumableBumpJob,
  type QueueJobData,
  type QueuedJob,
  type QueuedRun,
} from './job.js';
export { StreamPublisher, type StreamPublisherOptions } from './publisher.js';
export { queueLedger, redisQueue, type RedisQueue, type RedisQueueOptions } from './queue.js';
export { checkRedisUrl, DEFAULT_MAX_LEN, DEFAULT_PREFIX, DEFAULT_QUEUE } from './redis.js';
export {
  startQueueWorker,
  takeOverForeignLock,
  type QueueJobResult,
  type QueueWorker,
  type QueueWorkerOptions,
} from './worker.js';
