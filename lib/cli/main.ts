// The `iot-edge-connector` command line: dispatches to one subcommand per verb.
const usage = `usage: iot-edge-connector <command> [options]

commands:
  translate FILE.yaml   print the IoT Edge deployment for each pod (or pod template) in FILE`;

export function main(argv: string[]): Promise<number> | number {
  const [command] = argv;
  switch (command) {
    case undefined:
    case "help":
    case "--help":
      process.stdout.write(`${usage}\n`);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command "${command}"\n${usage}\n`);
      return 2;
  }
}
