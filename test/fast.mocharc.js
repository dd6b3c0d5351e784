// `npm run test:fast`: the fast tier (test/tiers.js), in parallel.
require("./compileCache");
module.exports = {
    require: ["ts-node/register/transpile-only"],
    extension: ["ts"],
    spec: require("./tiers").fast,
    parallel: true,
    jobs: 2,
    timeout: 60000,
    exit: true,
};
