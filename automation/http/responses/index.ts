// Loads every module that names an answer schema, so the document has them all.
import "./approvals";
import "./audit";
import "./recovery";
import "./stacks";
import "./tokens";
export { registeredComponents as responseComponents } from "./registry";
