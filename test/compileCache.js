// A test run starts hundreds of Node processes that load the same modules (mocha's workers, the
// services, job workers, the CLI's programs and dynamic providers, all loading the Pulumi SDK):
// they share one V8 code cache on disk, outside the repository. Node checks each entry against
// the source's hash, so an edited file is compiled afresh.
const os = require("node:os");
const path = require("node:path");
process.env.NODE_COMPILE_CACHE ??= path.join(os.tmpdir(), "todobackend-infra-node-compile-cache");
require("node:module").enableCompileCache?.(process.env.NODE_COMPILE_CACHE);
