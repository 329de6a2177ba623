export function allocateGrouped(): number { return 0; }
