export interface Repo {
  find(id: string): Promise<{ tags: string[] } | undefined>;
}

export async function tagsOf(repo: Repo, id: string): Promise<string[]> {
  const doc = await repo.find(id);
  return doc.tags;
}
