export function clamp(x: number): number {
  return x;
}
