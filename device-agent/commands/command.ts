/** Output streams and environment of a command: results go to `out`, problems to `err`. */
export type CommandIo = {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Record<string, string | undefined>;
};

/** A CLI command: parses its own arguments and returns the process exit code. */
export type Command = {
  name: string;
  summary: string;
  run(argv: readonly string[], io: CommandIo): Promise<number>;
};
