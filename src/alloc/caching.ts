export function simulateCachingAllocator(): number { return 0; }
