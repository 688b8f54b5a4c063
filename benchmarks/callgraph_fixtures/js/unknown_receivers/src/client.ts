export class Client {
  get(url: string): string {
    return url;
  }

  close(): void {}
}
