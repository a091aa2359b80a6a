import { settleRefusals } from "../components/refusals";
import { loadConfig } from "../config";
import { buildStack } from "./index";
import { StackOutputs } from "./outputs";

/**
 * The whole program: read and validate the stack's config, build the platform, return outputs —
 * once every change refused by what the stack recorded has been checked (components/refusals.ts):
 * a refusal fails the program, so the engine deletes nothing it did not see.
 */
export async function program(): Promise<StackOutputs> {
    const { config, secrets } = loadConfig();
    const outputs = buildStack(config, secrets);
    await settleRefusals();
    return outputs;
}
