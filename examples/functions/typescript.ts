// A TypeScript handler: Node strips the types, no build step.

interface Greeting {
  name?: string;
}

export const handler = async (event: Greeting): Promise<{ message: string; typed: boolean }> => {
  const name: string = event.name ?? 'world';
  return { message: `hello ${name}`, typed: true };
};
