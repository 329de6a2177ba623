// The static memory allocator (issue 4): the module's whole public interface.
//   allocate(problem, {solver, timeLimitS})   one arena, verified layout, peak, bound, gap
//   allocateGrouped(grouped, opts)            MEMO-style bi-level layout for layer blocks
//   verify / lowerBound / alignedLowerBound / greedy   independent checks and the baseline
//   parseCsv / writeCsv                       minimalloc's CSV format
//   simulateCachingAllocator / traceFromBuffers   PyTorch caching-allocator reserved bytes
export * from './types.js';
export { allocate, AllocError } from './allocate.js';
export { allocateGrouped, type GroupedProblem, type GroupedSolution, type LayerGroup, type Block } from './bilevel.js';
export { verify, type VerifyOptions, type OffsetsInput } from './verify.js';
export { alignedLowerBound, lowerBound } from './lowerBound.js';
export { greedy, type GreedyResult } from './greedy.js';
export { parseCsv, writeCsv, CsvError, type CsvTable } from './csv.js';
export { simulateCachingAllocator, traceFromBuffers, type TraceEvent, type CachingResult } from './caching.js';
