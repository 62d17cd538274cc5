// Pure functions of a text, remembered per process for the texts that every query of a session reads again.

/** `f`, remembering at most `max` results; the oldest is dropped first. `f` must be a pure function of its text. */
export function remembered<V>(f: (text: string) => V, max: number): (text: string) => V {
  const known = new Map<string, V>();
  return (text) => {
    let v = known.get(text);
    if (v === undefined) {
      if (known.size >= max) known.delete(known.keys().next().value!);
      known.set(text, (v = f(text)));
    }
    return v;
  };
}
