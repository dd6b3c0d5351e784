// Policy files are re-read when their size or mtime changes; an edit within the same
// millisecond and of the same size would go unseen, so tests give every write a later mtime.
import * as fs from "node:fs";
import * as path from "node:path";

/** A writer of `<dir()>/<file>` whose every write carries a later mtime than the one before. */
export function policyEditor(dir: () => string): (file: string, text: string) => void {
    let bump = 0;
    return (file, text) => {
        const full = path.join(dir(), file);
        fs.writeFileSync(full, text);
        const t = new Date(Date.now() + ++bump * 1000);
        fs.utimesSync(full, t, t);
    };
}
