import square, { add as plus } from "./math.js";
import * as math from "./math";

export function run() {
  plus(1, 2);
  square(3);
  math.mul(2, 3);
}
