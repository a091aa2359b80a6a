// Package remote is the command:remote module (pulumi-go-provider derives the token's module from
// the Go package name, as pulumi-command v1.2.1's own remote package does).
package remote

import (
	"context"

	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Command is command:remote:Command.
type Command struct{}

// Annotate describes the resource in the schema.
func (c *Command) Annotate(a infer.Annotator) {
	a.Describe(&c, "Runs a command on a remote host over SSH: create when the resource is created "+
		"(and again when an input changes, unless update is set), delete when it is deleted.")
}

// CommandArgs are the inputs (pulumi-command v1.2.1: remote/command.go CommandInputs and
// common/inputs.go ResourceInputs).
type CommandArgs struct {
	// Triggers replace the resource when they change (common/inputs.go: provider:"replaceOnChanges";
	// the npm SDK also registers replaceOnChanges ["triggers[*]"] for element changes).
	Triggers *[]any `pulumi:"triggers,optional" provider:"replaceOnChanges"`
	Create   *string `pulumi:"create,optional"`
	Update   *string `pulumi:"update,optional"`
	Delete   *string `pulumi:"delete,optional"`
	Stdin    *string `pulumi:"stdin,optional"`
	Logging  *Logging `pulumi:"logging,optional"`
	// The whole connection is secret, in inputs and state (remote/command.go: provider:"secret").
	Connection             *Connection       `pulumi:"connection" provider:"secret"`
	Environment            map[string]string `pulumi:"environment,optional"`
	AddPreviousOutputInEnv *bool             `pulumi:"addPreviousOutputInEnv,optional"`
}

// Annotate describes the inputs in the schema.
func (c *CommandArgs) Annotate(a infer.Annotator) {
	a.Describe(&c.Triggers, "Values whose change replaces the resource.")
	a.Describe(&c.Create, "Command run on creation, and on any input change when update is not set.")
	a.Describe(&c.Update, "Command run when an input changes (default: create).")
	a.Describe(&c.Delete, "Command run on deletion.")
	a.Describe(&c.Stdin, "Standard input of the command.")
	a.Describe(&c.Logging, "Which of stdout and stderr go to the engine's log (default: both).")
	a.Describe(&c.Connection, "How to reach the host over SSH.")
	a.Describe(&c.Environment, "Environment variables, sent with SSH setenv (the server must AcceptEnv them).")
	a.Describe(&c.AddPreviousOutputInEnv, "Send the previous stdout/stderr as PULUMI_COMMAND_STDOUT/"+
		"PULUMI_COMMAND_STDERR on update and delete (default: true).")
}

// CommandState is what the resource keeps: its inputs and the last run's output
// (remote/command.go CommandOutputs, remote/baseOutputs.go).
type CommandState struct {
	CommandArgs
	Stdout string `pulumi:"stdout"`
	Stderr string `pulumi:"stderr"`
}

// Annotate describes the outputs in the schema.
func (c *CommandState) Annotate(a infer.Annotator) {
	a.Describe(&c.Stdout, "Standard output of the last run, without its final newline.")
	a.Describe(&c.Stderr, "Standard error of the last run, without its final newline.")
}

var (
	_ infer.CustomResource[CommandArgs, CommandState] = (*Command)(nil)
	_ infer.CustomUpdate[CommandArgs, CommandState]   = (*Command)(nil)
	_ infer.CustomDelete[CommandState]                = (*Command)(nil)
)

// Create runs `create` (remote/commandController.go Create): the id is the resource name with 8
// random hex characters; a preview runs nothing; no create command, nothing to run. A failed run
// still returns the id, so the engine records the resource as failed to initialise and the next
// `up` updates it, which runs create again.
func (*Command) Create(ctx context.Context, req infer.CreateRequest[CommandArgs]) (infer.CreateResponse[CommandState], error) {
	state := CommandState{CommandArgs: req.Inputs}
	id, err := resource.NewUniqueHex(req.Name, 8, 0)
	if err != nil {
		return infer.CreateResponse[CommandState]{Output: state}, err
	}
	if req.DryRun || req.Inputs.Create == nil {
		return infer.CreateResponse[CommandState]{ID: id, Output: state}, nil
	}
	err = state.run(ctx, *req.Inputs.Create)
	return infer.CreateResponse[CommandState]{ID: id, Output: state}, err
}

// Update runs `update`, or `create` when there is none (remote/commandController.go Update). Every
// input but triggers is an update: pulumi-go-provider's default diff replaces only the fields
// tagged replaceOnChanges when the resource implements Update. The previous output is kept until
// a run succeeds, and is what addPreviousOutputInEnv sends.
func (*Command) Update(ctx context.Context, req infer.UpdateRequest[CommandArgs, CommandState]) (infer.UpdateResponse[CommandState], error) {
	state := CommandState{CommandArgs: req.Inputs, Stdout: req.State.Stdout, Stderr: req.State.Stderr}
	if req.DryRun {
		return infer.UpdateResponse[CommandState]{Output: state}, nil
	}
	var err error
	switch {
	case req.Inputs.Update != nil:
		err = state.run(ctx, *req.Inputs.Update)
	case req.Inputs.Create != nil:
		err = state.run(ctx, *req.Inputs.Create)
	}
	return infer.UpdateResponse[CommandState]{Output: state}, err
}

// Delete runs `delete` with the state's connection and inputs (remote/commandController.go
// Delete): on removal, on `destroy`, and for the old resource of a replacement.
func (*Command) Delete(ctx context.Context, req infer.DeleteRequest[CommandState]) (infer.DeleteResponse, error) {
	if req.State.Delete == nil {
		return infer.DeleteResponse{}, nil
	}
	state := req.State
	return infer.DeleteResponse{}, state.run(ctx, *req.State.Delete)
}
