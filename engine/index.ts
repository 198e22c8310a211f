export * from './backend/backend.js';
export * from './backend/conv.js';
export * from './models/schedule.js';
export * from './models/unet.js';
export * from './models/ddpm.js';
export * from './models/random.js';
export * from './config.js';
export * from './experiment.js';
export * from './store/run-store.js';
export * from './cli/progress.js';
export {
  blocks,
  createScriptContext,
  type CreateRunOptions,
  type Script,
  type ScriptContext,
} from './script.js';
export * from './models/unet-ddpm.js';
export * from './store/record.js';
export { startServer } from './server/live-server.js';
export type { LiveServer, LiveServerOptions } from './server/live-server.js';
export * from '../streams/protocol.js';
export { syntheticRun, syntheticRun$ } from './server/synthetic-run.js';
export {
  childProcesses,
  coresPerRun,
  type ChildProcessesOptions,
} from './sweep/child-processes.js';
export { bumpJob, BUMP_JOB, type BumpJobOptions } from './sweep/bump-job.js';
export { assessmentEvent, assessmentMetrics } from './assessment-events.js';
export { editRunLabels, readRunLabels, type RunLabels } from './store/labels.js';
export {
  connect,
  type ConnectOptions,
  type RemoteRun,
  type RemoteRunOptions,
  type RemoteSnapshot,
  type RemoteRunEnd,
} from './connect.js';
export { createIngest, type Ingest, type IngestOptions } from './server/ingest.js';
export { exportTensorBoard, imageSeries, type TensorBoardExport } from './export/tensorboard.js';
export { exportCsv } from './export/csv.js';
export { scalarSeries, type ScalarPoint } from './export/scalars.js';
export * from './models/mlp-denoiser.js';
export * from './models/dier.js';
export * from './models/trajectory-probe-net.js';
