type Formatter = (n: number) => string;

export function render(value: number, format?: Formatter): string {
  return format(value);
}
