import { formatDate, parseDate } from "./lib";
import * as lib from "./lib/index";

export function main(): string {
  const d = parseDate("2020-01-01");
  lib.formatDate(d);
  return formatDate(d);
}
