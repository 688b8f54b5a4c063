export class Repository {
  constructor() {}

  find(id: number): void {
    this.log(id);
  }

  log(id: number): void {}
}
