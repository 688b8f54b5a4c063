import { Repository } from "./base";

export class UserRepository extends Repository {
  find(id: number): void {
    super.find(id);
    this.log(id);
  }

  all(): void {
    this.find(1);
  }
}

export function main(): void {
  const repo = new UserRepository();
  repo.all();
}
