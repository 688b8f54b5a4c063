export function log(message: string): void {}
