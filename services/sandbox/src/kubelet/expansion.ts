// Kubelet's $(VAR) expansion (k8s.io/kubernetes third_party/forked/golang/expansion), reproduced
// byte-for-byte in behaviour: `$$` escapes a dollar, an undefined `$(NAME)` stays literally in
// place, and an unterminated `$(` is copied through.
export function expandKubeVariables(input: string, lookup: (name: string) => string | undefined): string {
  let output = '';
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== '$' || cursor + 1 >= input.length) continue;
    output += input.slice(checkpoint, cursor);
    const rest = input.slice(cursor + 1);
    const { text, isVariable, advance } = readVariableName(rest);
    if (isVariable) {
      const value = lookup(text);
      output += value ?? `$(${text})`;
    } else {
      output += text;
    }
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return output + input.slice(checkpoint);
}

function readVariableName(input: string): { text: string; isVariable: boolean; advance: number } {
  if (input.startsWith('$')) return { text: '$', isVariable: false, advance: 1 };
  if (input.startsWith('(')) {
    const closer = input.indexOf(')', 1);
    if (closer >= 0) return { text: input.slice(1, closer), isVariable: true, advance: closer + 1 };
    return { text: '$(', isVariable: false, advance: 1 };
  }
  return { text: `$${input[0]}`, isVariable: false, advance: 1 };
}
