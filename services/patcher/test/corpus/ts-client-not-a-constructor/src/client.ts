const factory = { create: (url: string) => ({ url }) };

export function makeClient(url: string): { url: string } {
  const Client = factory.create;
  return new (Client as unknown as new (u: string) => { url: string })(url);
}
