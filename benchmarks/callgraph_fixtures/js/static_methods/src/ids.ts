export class Ids {
  static next(): number {
    return Ids.seed() + 1;
  }

  static seed(): number {
    return 0;
  }
}

export function make(): number {
  return Ids.next();
}
