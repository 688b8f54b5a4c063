export class Server {
  close(): void {}

  handle(request: any): void {
    request.get("/x");
    request.close();
    console.log("done");
  }
}
