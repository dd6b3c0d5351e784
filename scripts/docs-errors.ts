// `npm run docs:errors`: writes docs/errors.md from the catalogue (automation/errorCodes.ts).
import * as fs from "node:fs";
import * as path from "node:path";
import { errorCodesMarkdown } from "../automation/errorCodes";

const target = path.join(__dirname, "..", "docs", "errors.md");
fs.writeFileSync(target, errorCodesMarkdown());
console.log(`wrote ${path.relative(process.cwd(), target)}`);
