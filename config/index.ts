/**
 * The configuration layer, at the bottom of the program: the schema, the checks (one file per
 * concern under ./checks/), the typed config, pinned versions, network helpers and the node
 * environment. It imports nothing else of the program; everything above imports from here.
 */
export * from "./controlPlanes";
export * from "./errors";
export * from "./images";
export * from "./load";
export * from "./net";
export * from "./maintenanceEnv";
export * from "./nodeEnv";
export * from "./parse";
export * from "./renames";
export * from "./schema";
export * from "./topology";
export * from "./types";
export * from "./upgrade";
export * from "./versions";
