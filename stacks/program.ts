import { loadConfig } from "../config";
import { buildStack } from "./index";
import { StackOutputs } from "./outputs";

/** The whole program: read and validate the stack's config, build the platform, return outputs. */
export function program(): StackOutputs {
    const { config, secrets } = loadConfig();
    return buildStack(config, secrets);
}
