export function add(a, b) {
  return a + b;
}

export function mul(a, b) {
  return a * b;
}

export default function square(x) {
  return mul(x, x);
}
