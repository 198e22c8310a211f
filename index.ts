/**
 * phasewatch's public API: every name a user imports from `phasewatch`, listed explicitly
 * (nothing else in the package is public). Reference: docs/api/ (`npm run docs:api`).
 *
 * A run is an RxJS pipeline: a source (`training` over a `Dataset`, or `replay` of a stored
 * run) → operators (`snapshotEvery`, `metricsFrom`, `assessPhases`, `phaseTransitions`, …)
 * → `record(store)`, the sink that stores every event in a `RunStore` and emits it; the live
 * server pushes stored events to the dashboard. `runExperiment` is the default composition.
 * @packageDocumentation
 */

// The contract: events, datasets, models, snapshots
export {
  assessmentFigures,
  EVENTS_VERSION,
  GENERIC_KINDS,
  snapshotSamples,
} from './streams/events.js';
export type {
  Activation,
  AlertEvent,
  Assessment,
  AssessmentEvent,
  Batch,
  CurveEvent,
  Dataset,
  EmbeddingEvent,
  EventBase,
  EventInput,
  Factor,
  FeatureOptions,
  ImageMark,
  ImagesEvent,
  ImageThumb,
  MatrixEvent,
  MetricEvent,
  Model,
  ModelSample,
  ModelSampleOptions,
  NoiseLevel,
  Phase,
  PhaseEvent,
  Rect,
  RunEndEvent,
  RunEvent,
  RunEventType,
  RunMeta,
  RunStartEvent,
  RunStatus,
  Sampler,
  SampleThumb,
  Snapshot,
  SnapshotEvent,
  StepEvent,
  UnsequencedEvent,
} from './streams/events.js';

// Sources: datasets, training, replay, sweeps
export { DISKS_FIELDS, diskTrajectories, disks } from './streams/disks.js';
export type { DiskTrajectoryOptions, DisksDataset, DisksOptions } from './streams/disks.js';
export { Gate } from './streams/gate.js';
export { gaussianBumps } from './streams/gaussian-bumps.js';
export type { GaussianBumpsOptions } from './streams/gaussian-bumps.js';
export { molrg, molrgPosteriorMean, sigmaFromAlphaBar } from './streams/molrg.js';
export type { MolrgDataset, MolrgOptions, PosteriorOptions } from './streams/molrg.js';
export { readRunEvents, replay } from './streams/replay.js';
export type { BadLine, ReplayOptions } from './streams/replay.js';
export { gridPoints, inProcess, runsDirLedger, sweep } from './streams/sweep.js';
export type {
  MakeRun,
  SweepAlert,
  SweepBackend,
  SweepEvent,
  SweepJob,
  SweepLedger,
  SweepOptions,
  SweepPoint,
} from './streams/sweep.js';
export { exampleLength, training } from './streams/training.js';
export type { StepInput, Trainable, TrainingOptions } from './streams/training.js';

// Operators (RxJS)
export { alertOn, nonFinite, phaseChanged, stalled } from './operators/alert-on.js';
export type {
  AlertInput,
  AlertOnOptions,
  AlertPredicate,
  StalledOptions,
} from './operators/alert-on.js';
export { assessPhases } from './operators/assess-phases.js';
export type { AssessPhasesOptions } from './operators/assess-phases.js';
export { csnr } from './operators/csnr.js';
export type { CsnrOptions } from './operators/csnr.js';
export { emaMetric } from './operators/ema-metric.js';
export type { EmaMetricOptions } from './operators/ema-metric.js';
export { metricsFrom } from './operators/metrics-from.js';
export type { MetricsFromOptions } from './operators/metrics-from.js';
export { phaseHysteresis } from './operators/phase-hysteresis.js';
export type { HysteresisState, PhasedAssessment } from './operators/phase-hysteresis.js';
export { phaseTransitions } from './operators/phase-transitions.js';
export { phaseEvents } from './operators/phase-events.js';
export { watchPhases } from './operators/watch-phases.js';
export type { PhaseWatchState, WatchPhasesOptions } from './operators/watch-phases.js';
export type { PhaseTransition } from './operators/phase-transitions.js';
export { featuresAt, perSnapshot, resolveProbeSet } from './operators/probe-set.js';
export type { ProbeSet, ProbeSetOptions } from './operators/probe-set.js';
export { snapshotEvery } from './operators/snapshot-every.js';
export type { SnapshotEveryOptions } from './operators/snapshot-every.js';
export { representationSnapshots } from './operators/representation-snapshots.js';
export type { RepresentationSnapshotsOptions } from './operators/representation-snapshots.js';
export { conditionalMse } from './operators/conditional-mse.js';
export type { ConditionalMseOptions, ConditionalSampler } from './operators/conditional-mse.js';
export type { DivaProbeSampler, FreezableDiva } from './operators/frozen-probe.js';
export { latentProbe } from './operators/latent-probe.js';
export type { LatentProbeOptions } from './operators/latent-probe.js';
export { latentStraightness } from './operators/latent-straightness.js';
export type { LatentStraightnessOptions } from './operators/latent-straightness.js';
export { softVote } from './operators/soft-vote.js';
export type { SoftVoteOptions } from './operators/soft-vote.js';
export { timestepMI } from './operators/timestep-mi.js';
export type { TimestepMIOptions } from './operators/timestep-mi.js';
export { probeTimesteps, timestepProbes } from './operators/timestep-probes.js';
export type { TimestepProbe, TimestepProbesOptions } from './operators/timestep-probes.js';
export { trajectoryProbe } from './operators/trajectory-probe.js';
export type { TrajectoryProbeOptions } from './operators/trajectory-probe.js';

// Metrics: pure functions on typed arrays
export { assessSnapshot } from './operators/metrics/assess-snapshot.js';
export type { AssessOptions } from './operators/metrics/assess-snapshot.js';
export { classifyPhase, defaultPhaseThresholds } from './operators/metrics/classify-phase.js';
export { assessAny } from './operators/metrics/assess-any.js';
export { assessRepresentation } from './operators/metrics/assess-representation.js';
export {
  classifyRepresentation,
  defaultRepresentationThresholds,
} from './operators/metrics/classify-representation.js';
export type {
  RepresentationEvidence,
  RepresentationThresholds,
} from './operators/metrics/classify-representation.js';
export type { PhaseEvidence, PhaseThresholds } from './operators/metrics/classify-phase.js';
export {
  classBases,
  classConfidence,
  csnrClosedForm,
  csnr as csnrOf,
  projectedEnergy,
} from './operators/metrics/csnr.js';
export type { CsnrClosedFormOptions } from './operators/metrics/csnr.js';
export { kNearest } from './operators/metrics/k-nearest.js';
export type { Neighbours } from './operators/metrics/k-nearest.js';
export { digamma, knnMutualInformation, normalisedMI } from './operators/metrics/knn-mi.js';
export {
  accuracy,
  corruptLabels,
  fitLinearProbe,
  gatherRows,
  probeLogits,
  splitTrainTest,
} from './operators/metrics/linear-probe.js';
export type { LinearProbe, LinearProbeOptions } from './operators/metrics/linear-probe.js';
export { linearR2 } from './operators/metrics/linear-r2.js';
export { locateBump } from './operators/metrics/locate-bump.js';
export type { LocateBumpOptions, LocatedBump } from './operators/metrics/locate-bump.js';
export { neighbourhoodPreservation } from './operators/metrics/neighbourhood-preservation.js';
export { otsuThreshold } from './operators/metrics/otsu-threshold.js';
export { pairwiseDistances } from './operators/metrics/pairwise-distances.js';
export { pcaEmbed } from './operators/metrics/pca-embed.js';
export { averageLogits, ensembleMembers } from './operators/metrics/soft-vote.js';
export { auroc, binarizeAtMedian, tad } from './operators/metrics/tad.js';
export type { TadAttribute, TadOptions, TadResult } from './operators/metrics/tad.js';
export { twoNN } from './operators/metrics/two-nn.js';
export { umapEmbed, umapEmbedAsync } from './operators/metrics/umap-embed.js';
export { umapEmbedOffThread, umapWorkerRunning } from './operators/metrics/umap-off-thread.js';
export type { UmapEmbedOptions } from './operators/metrics/umap-embed.js';

// Models
export { createDdpm, Ddpm, DEFAULT_DDPM_CONFIG } from './engine/models/ddpm.js';
export type { DdpmConfig, SampleOptions, SampleResult } from './engine/models/ddpm.js';
export { dier } from './engine/models/dier.js';
export {
  DEFAULT_DIVA_CONFIG,
  Diva,
  diva,
  DivaSampler,
  resolveDivaConfig,
} from './engine/models/diva.js';
export type {
  DivaConfig,
  DivaDraws,
  DivaGenerateOptions,
  DivaLossTerms,
  Generated,
} from './engine/models/diva.js';
export type { DierConfig } from './engine/models/dier.js';
export {
  DEFAULT_MLP_DENOISER_CONFIG,
  MlpDenoiser,
  mlpDenoiser,
  mlpDenoiserApply,
  MlpDenoiserSampler,
  mlpDenoiserShapes,
  resolveMlpDenoiserConfig,
  timestepEmbedding,
} from './engine/models/mlp-denoiser.js';
export type { MlpDenoiserConfig } from './engine/models/mlp-denoiser.js';
export { createRng } from './streams/random.js';
export type { Rng, RngState, StatefulRng } from './streams/random.js';
export { makeSchedule } from './engine/models/schedule.js';
export type { Schedule, ScheduleKind, ScheduleOptions } from './engine/models/schedule.js';
export { fitTrajectoryProbe } from './operators/trajectory-probe-net.js';
export type {
  TrajectoryProbeFitOptions,
  TrajectoryProbeKind,
  TrajectoryProbeResult,
} from './operators/trajectory-probe-net.js';
export { UNET_LAYER, UnetDdpm, unetDdpm } from './engine/models/unet-ddpm.js';
export {
  ATTENTION_AT,
  createUnet,
  DEFAULT_UNET_CONFIG,
  selfAttention,
  unetApply,
  unetParamCount,
} from './engine/models/unet.js';
export type {
  AttentionAt,
  AttentionResult,
  InitKind,
  PoolKind,
  PosEncoding,
  StemKind,
  UnetConfig,
  UnetOutput,
  UnetParams,
  UnetWeights,
  UpMid,
  UpsampleKind,
} from './engine/models/unet.js';

// Backends and fused ops
export { FusedAdamEma } from './engine/backend/adam-ema.js';
export type { NamedTensor } from './engine/backend/adam-ema.js';
export { BACKENDS, nativeBackendUnavailable, selectBackend } from './engine/backend/backend.js';
export type { BackendName } from './engine/backend/backend.js';
export { conv2d } from './engine/backend/conv.js';
export { attention } from './engine/backend/fused/attention.js';
export { gelu } from './engine/backend/fused/gelu.js';
export { groupNorm, groupNormGelu } from './engine/backend/fused/group-norm.js';

// Experiments, scripts, config and sweeps
export { assessmentEvent, assessmentMetrics } from './operators/assessment-events.js';
export {
  checkConfig,
  CONFIG_FIELDS,
  CONFIG_KEYS,
  CONFIG_PRESETS,
  configFromMeta,
  configSchema,
  DEFAULT_CONFIG,
  MAX_DATASET_IMAGES,
  MAX_STEPS,
  PRESET_NAMES,
  resolveConfig,
} from './engine/experiment/config.js';
export type {
  ConfigField,
  ConfigFieldKind,
  ConfigFieldNaming,
  ConfigKey,
  ConfigPreset,
  ExperimentConfig,
} from './engine/experiment/config.js';
export { bumpExperiment, snapshotLabels } from './engine/experiment/bump-experiment.js';
export type { BumpExperimentOptions, BumpSettings } from './engine/experiment/bump-experiment.js';
export { runExperiment } from './engine/experiment/run-experiment.js';
export type { RunOptions } from './engine/experiment/run-experiment.js';
export { restoreRun } from './engine/experiment/resume.js';
export type { Restore } from './engine/experiment/resume.js';
export {
  checkpointEvery,
  latestCheckpoint,
  saveCheckpoint,
} from './engine/experiment/checkpoints.js';
export type { Checkpoints } from './engine/experiment/checkpoints.js';
export { unetFromConfig } from './engine/experiment/unet-from-config.js';
export type { UnetSettings } from './engine/experiment/unet-from-config.js';
export { blocks, createScriptContext } from './engine/experiment/script.js';
export type {
  CreateRunOptions,
  Script,
  ScriptContext,
  ScriptContextOptions,
} from './engine/experiment/script.js';
export { BUMP_JOB, bumpJob } from './engine/experiment/sweep/bump-job.js';
export type { BumpJobOptions } from './engine/experiment/sweep/bump-job.js';
export { childProcesses, coresPerRun } from './engine/experiment/sweep/child-processes.js';
export type { ChildProcessesOptions } from './engine/experiment/sweep/child-processes.js';

// The run store and exports to other tools
export { exportCsv } from './engine/export/csv.js';
export { scalarSeries } from './engine/export/scalars.js';
export type { ScalarPoint } from './engine/export/scalars.js';
export { exportTensorBoard, imageSeries } from './engine/export/tensorboard.js';
export type { TensorBoardExport } from './engine/export/tensorboard.js';
export { editRunLabels, readRunLabels } from './engine/store/labels.js';
export type { RunLabels } from './engine/store/labels.js';
export { record } from './engine/store/record.js';
export type { RecordOptions } from './engine/store/record.js';
export {
  listRuns,
  readRunMeta,
  readSnapshotArrays,
  metaLastSeq,
  RunStore,
  storedLastSeq,
} from './engine/store/run-store.js';
export type { OpenOptions, SnapshotArrays } from './engine/store/run-store.js';

// The live server, remote runs and the wire protocol
export { connect } from './engine/server/connect.js';
export { init } from './engine/server/init.js';
export type { InitOptions, LoggedStep, RunSummary, TrackedRun } from './engine/server/init.js';
export type {
  ConnectOptions,
  RemoteRun,
  RemoteRunEnd,
  RemoteRepresentation,
  RemoteRunOptions,
  RemoteSnapshot,
} from './engine/server/connect.js';
export { createIngest } from './engine/server/ingest.js';
export type { Ingest, IngestOptions } from './engine/server/ingest.js';
export { startServer } from './engine/server/live-server.js';
export type { LiveServer, LiveServerOptions } from './engine/server/live-server.js';
export {
  CLIENT_VERSIONS,
  MAX_CLIENT_FRAME_BYTES,
  MAX_CLIENT_MESSAGE_BYTES,
  PROTOCOL_VERSION,
} from './streams/protocol.js';
export type {
  ClientMessage,
  ErrorMessage,
  EventMessage,
  EventsMessage,
  GapMessage,
  ReplayedMessage,
  RunsMessage,
  ServerMessage,
  SubscribeMessage,
  UnsubscribeMessage,
} from './streams/protocol.js';
