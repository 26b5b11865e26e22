// Public API of @meshwave/mesh: the mesh splitter and its graph formats, all pure (the I/O lives in the CLI).
export * from './errors.js';
export { SeededRandom } from './random.js';
export { buildCsrGraph, edgeCut, partWeights, totalEdgeWeight, totalVertexWeight, type CsrGraph } from './csr-graph.js';
export { partitionGraph, type Partition, type PartitionOptions } from './partitioner.js';
export { parseMetisGraph, writeMetisGraph } from './metis-format.js';
export { splitMeshes } from './mesh-split.js';
export { MESH_LABEL, meshName, meshRevision } from './mesh-names.js';
export { istioConfigForMesh } from './istio-config.js';
export { istioRequestRateQuery, serviceGraphFromIstioRequests, type PrometheusSample } from './prometheus-graph.js';
