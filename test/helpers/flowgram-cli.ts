/** The `flowgram` command from the sources, as bin/flowgram.js runs it from dist/: `node --import tsx test/helpers/flowgram-cli.ts <args>`. */
import { main } from '../../src/cli/index.js';

process.exitCode = await main(process.argv.slice(2));
