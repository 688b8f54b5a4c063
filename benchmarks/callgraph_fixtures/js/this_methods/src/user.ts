export class UserService {
  validate(name: string): boolean {
    return name.length > 0;
  }

  save(name: string): void {
    if (this.validate(name)) {
      this.persist(name);
    }
  }

  persist(name: string): void {}
}

export class Cache {
  validate(key: string): boolean {
    return true;
  }
}
