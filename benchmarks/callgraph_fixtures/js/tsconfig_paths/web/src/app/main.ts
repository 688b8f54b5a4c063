import { log } from "@shared/log";
import { clamp } from "@util";
import { loadConfig } from "app/config";

export function start(): void {
  log("start");
  clamp(1);
  loadConfig();
}
