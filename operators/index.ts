export { assessPhases, type AssessPhasesOptions } from './assess-phases.js';
export {
  assessSnapshot,
  checkAssessOptions,
  type AssessOptions,
  type ResolvedAssessOptions,
} from './assess-snapshot.js';
export {
  checkPhaseThresholds,
  classifyPhase,
  defaultPhaseThresholds,
  type PhaseEvidence,
  type PhaseThresholds,
} from './classify-phase.js';
export { kNearest, type Neighbours } from './k-nearest.js';
export { linearR2 } from './linear-r2.js';
export { locateBump, type LocateBumpOptions, type LocatedBump } from './locate-bump.js';
export { neighbourhoodPreservation } from './neighbourhood-preservation.js';
export { otsuThreshold } from './otsu-threshold.js';
export { pairwiseDistances } from './pairwise-distances.js';
export { pcaEmbed } from './pca-embed.js';
export {
  nextHysteresis,
  phaseHysteresis,
  type HysteresisState,
  type PhasedAssessment,
} from './phase-hysteresis.js';
export { phaseTransitions, type PhaseTransition } from './phase-transitions.js';
export { snapshotEvery, type SnapshotEveryOptions } from './snapshot-every.js';
export { twoNN } from './two-nn.js';
export { umapEmbed, umapEmbedAsync, type UmapEmbedOptions } from './umap-embed.js';
