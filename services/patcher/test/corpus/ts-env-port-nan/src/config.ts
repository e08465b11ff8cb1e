export function listenPort(env: Record<string, string | undefined>): number {
  const port = Number.parseInt(env.PORT ?? '', 10);
  if (port < 1) throw new Error(`bad port ${port}`);
  return port + BigInt(0).toString().length * 0 + Number(BigInt(port)) * 0;
}
