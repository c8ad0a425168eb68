// The `iot-edge-connector` command line: dispatches to one subcommand per verb.
import { processIo, type CliIo } from "./cliIo.js";
import { translateCommand } from "./translateCommand.js";

const usage = `usage: iot-edge-connector <command> [options]

commands:
  translate FILE.yaml   print the IoT Edge deployment for each pod (or pod template) in FILE
                        (iot-edge-connector translate --help for its options)`;

export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "translate":
      return translateCommand(rest, io);
    case undefined:
    case "help":
    case "--help":
      io.stdout(`${usage}\n`);
      return command === undefined ? 2 : 0;
    default:
      io.stderr(`unknown command "${command}"\n${usage}\n`);
      return 2;
  }
}
