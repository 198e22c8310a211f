export { assessPhases, type AssessPhasesOptions } from './assess-phases.js';
export {
  assessSnapshot,
  checkAssessOptions,
  type AssessOptions,
  type ResolvedAssessOptions,
} from './metrics/assess-snapshot.js';
export {
  checkPhaseThresholds,
  classifyPhase,
  defaultPhaseThresholds,
  type PhaseEvidence,
  type PhaseThresholds,
} from './metrics/classify-phase.js';
export { kNearest, type Neighbours } from './metrics/k-nearest.js';
export { linearR2 } from './metrics/linear-r2.js';
export { locateBump, type LocateBumpOptions, type LocatedBump } from './metrics/locate-bump.js';
export { neighbourhoodPreservation } from './metrics/neighbourhood-preservation.js';
export { otsuThreshold } from './metrics/otsu-threshold.js';
export { pairwiseDistances } from './metrics/pairwise-distances.js';
export { pcaEmbed } from './metrics/pca-embed.js';
export {
  nextHysteresis,
  phaseHysteresis,
  type HysteresisState,
  type PhasedAssessment,
} from './phase-hysteresis.js';
export { phaseTransitions, type PhaseTransition } from './phase-transitions.js';
export { snapshotEvery, type SnapshotEveryOptions } from './snapshot-every.js';
export { twoNN } from './metrics/two-nn.js';
export { umapEmbed, umapEmbedAsync, type UmapEmbedOptions } from './metrics/umap-embed.js';
export { metricsFrom, type MetricsFromOptions } from './metrics-from.js';
export {
  alertOn,
  nonFinite,
  phaseChanged,
  stalled,
  type AlertInput,
  type AlertOnOptions,
  type AlertPredicate,
  type StalledOptions,
} from './alert-on.js';
export { csnr, type CsnrOptions } from './csnr.js';
export {
  classBases,
  classConfidence,
  csnr as csnrOf,
  csnrClosedForm,
  projectedEnergy,
  type CsnrClosedFormOptions,
} from './metrics/csnr.js';
export { digamma, knnMutualInformation, normalisedMI } from './metrics/knn-mi.js';
export {
  accuracy,
  corruptLabels,
  fitLinearProbe,
  gatherRows,
  probeLogits,
  splitTrainTest,
  type LinearProbe,
  type LinearProbeOptions,
} from './metrics/linear-probe.js';
export { averageLogits, ensembleMembers } from './metrics/soft-vote.js';
export {
  featuresAt,
  perSnapshot,
  resolveProbeSet,
  type ProbeSet,
  type ProbeSetOptions,
} from './probe-set.js';
export { softVote, type SoftVoteOptions } from './soft-vote.js';
export { timestepMI, type TimestepMIOptions } from './timestep-mi.js';
export {
  probeTimesteps,
  timestepProbes,
  type TimestepProbe,
  type TimestepProbesOptions,
} from './timestep-probes.js';
export { trajectoryProbe, type TrajectoryProbeOptions } from './trajectory-probe.js';
