export * from './errors.js';
export { SeededRandom } from './random.js';
export { buildCsrGraph, edgeCut, partWeights, totalEdgeWeight, totalVertexWeight, type CsrGraph } from './csr-graph.js';
export { partitionGraph, type Partition, type PartitionOptions } from './partitioner.js';
export { parseMetisGraph, writeMetisGraph } from './metis-format.js';
