// k8s-platform: reads and validates the stack's config, builds the platform, exports its outputs.
import { program } from "./stacks/program";

export = program();
