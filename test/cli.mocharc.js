// `npm run test:cli`: every test file outside the fast tier (test/tiers.js), one at a time.
require("./compileCache");
module.exports = {
    require: ["ts-node/register/transpile-only"],
    extension: ["ts"],
    spec: ["test/**/*.test.ts"],
    // the image test builds a container image: `npm run test:image`, outside `npm test`
    ignore: [...require("./tiers").fast, "test/image/**"],
    timeout: 60000,
    exit: true,
};
