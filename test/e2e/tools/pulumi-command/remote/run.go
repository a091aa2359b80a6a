package remote

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
)

// The variables addPreviousOutputInEnv sets (util/util.go).
const (
	previousStdoutVar = "PULUMI_COMMAND_STDOUT"
	previousStderrVar = "PULUMI_COMMAND_STDERR"
)

const setenvHint = "This only works if the SSH server accepts the variable (AcceptEnv); a Bash-like " +
	"shell on the host can take it as a prefix instead: 'VAR=value command'."

// run runs one command in a new session and, when it succeeds, records its output
// (remote/commandOutputs.go run):
//   - environment: each variable with SSH setenv; a refused one fails the run;
//   - addPreviousOutputInEnv (default true): the previous stdout/stderr, when not empty, as
//     PULUMI_COMMAND_STDOUT/STDERR; a refusal is only a warning;
//   - stdin when not empty;
//   - stdout and stderr captured (final newline trimmed) and, per `logging`, sent line by line to
//     the engine as ephemeral status messages;
//   - a failure's error holds the command and its interleaved output.
func (s *CommandState) run(ctx context.Context, cmd string) error {
	client, err := s.Connection.dial(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		return err
	}
	defer session.Close()

	log := p.GetLogger(ctx)
	for name, value := range s.Environment {
		if err := session.Setenv(name, value); err != nil {
			log.Errorf("Unable to set '%s'. %s", name, setenvHint)
			return fmt.Errorf("could not set environment variable %q: %w", name, err)
		}
	}
	if s.AddPreviousOutputInEnv == nil || *s.AddPreviousOutputInEnv {
		for name, value := range map[string]string{previousStdoutVar: s.Stdout, previousStderrVar: s.Stderr} {
			if value == "" {
				continue
			}
			if err := session.Setenv(name, value); err != nil {
				log.Warningf("Unable to set '%s'. %s", name, setenvHint)
			}
		}
	}
	if s.Stdin != nil && *s.Stdin != "" {
		session.Stdin = strings.NewReader(*s.Stdin)
	}

	var stdout, stderr, both bytes.Buffer
	logReader, logWriter := io.Pipe()
	outWriters := []io.Writer{&stdout, &both}
	if s.Logging.logs(LogStdout) {
		outWriters = append(outWriters, logWriter)
	}
	errWriters := []io.Writer{&stderr, &both}
	if s.Logging.logs(LogStderr) {
		errWriters = append(errWriters, logWriter)
	}
	// The SSH library copies stdout and stderr in two goroutines: serialise the shared buffers.
	var mu lockedWriters
	session.Stdout = mu.wrap(io.MultiWriter(outWriters...))
	session.Stderr = mu.wrap(io.MultiWriter(errWriters...))

	logged := make(chan struct{})
	go func() {
		defer close(logged)
		lines := bufio.NewScanner(logReader)
		lines.Buffer(make([]byte, 64*1024), 1024*1024)
		for lines.Scan() {
			log.InfoStatus(lines.Text())
		}
		_, _ = io.Copy(io.Discard, logReader)
	}()
	err = session.Run(cmd)
	_ = logWriter.Close()
	<-logged
	if err != nil {
		return fmt.Errorf("%w: running %q:\n%s", err, cmd, both.String())
	}
	s.Stdout = strings.TrimSuffix(stdout.String(), "\n")
	s.Stderr = strings.TrimSuffix(stderr.String(), "\n")
	return nil
}
