export interface Post {
  title: string;
  tags: string[];
}

export function tagList(post: Post): string {
  return post.tags.map((t) => `#${t}`).join(' ');
}
