export * from "./format";
export { parseDate } from "./parse";
