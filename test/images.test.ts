import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { validate } from "dockerfile-utils";

const read = (f: string) => fs.readFileSync(path.join(__dirname, "..", "images", f), "utf8");

describe("delivery images", () => {
    for (const file of ["Dockerfile.codebuild", "Dockerfile.xray", "Dockerfile.deploy", "Dockerfile.automation"]) {
        it(`${file} has no linter findings`, () => {
            assert.deepEqual(validate(read(file)).map((d) => `${d.range.start.line + 1}: ${d.message}`), []);
        });
    }

    it("the linter does report a broken Dockerfile, so a clean result means something", () => {
        assert.ok(validate("FROM\nEXPOSE notaport\n").length > 0);
    });

    it("the build image pins docker dind and installs its tools from Alpine packages, not pip (its Dockerfile's text; no image is built here)", () => {
        const d = read("Dockerfile.codebuild");
        assert.match(d, /^FROM docker:\d+\.\d+\.\d+-dind$/m);
        for (const pkg of ["bash", "make", "jq", "aws-cli", "docker-cli-compose"]) assert.match(d, new RegExp(`apk add --no-cache .*\\b${pkg}\\b`));
        assert.doesNotMatch(d.replace(/^#.*$/gm, ""), /pip/);
    });

    it("the X-Ray image runs daemon 3.x bound to all interfaces on UDP 2000 (segments) and TCP 2000 (sampling rules, its Dockerfile's text; no image is built here)", () => {
        const d = read("Dockerfile.xray");
        assert.match(d, /XRAY_VERSION=3\.\d+\.\d+/);
        // Without -t the daemon's TCP proxy listens on 127.0.0.1 only: the SDK's centralised sampling from the app's tasks fails.
        assert.match(d, /^ENTRYPOINT \["\/usr\/bin\/xray", "-b", "0\.0\.0\.0:2000", "-t", "0\.0\.0\.0:2000"\]$/m);
        assert.match(d, /^EXPOSE 2000\/udp 2000\/tcp$/m);
    });
});
